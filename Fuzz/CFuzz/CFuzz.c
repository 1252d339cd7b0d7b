// The header declares libFuzzer's driver for Swift; a C target needs one source file.
#include "CFuzz.h"
