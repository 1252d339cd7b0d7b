#ifndef RELAY_CFUZZ_H
#define RELAY_CFUZZ_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver for programs with their own main (compiler-rt's FuzzerDriver.cpp): parses the
/// libFuzzer flags in argv and calls `callback` with each input. Linked from
/// libclang_rt.fuzzer_no_main by scripts/fuzz.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
