#ifndef CXXHASH_SHIM_H
#define CXXHASH_SHIM_H
#include <xxhash.h>
#if defined(__x86_64__)
// The library's XXH3 entry points use SSE2 only; its *_dispatch twins pick AVX2 or AVX-512 at run time
// (same hashes, about 2.3x faster here). Called by name, not by the header's macro replacement.
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#endif
#endif
