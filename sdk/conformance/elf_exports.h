// Reads the dynamic symbol table of an ELF64 shared object without loading it.
#ifndef LATCHKEY_SDK_CONFORMANCE_ELF_EXPORTS_H_
#define LATCHKEY_SDK_CONFORMANCE_ELF_EXPORTS_H_

#include <string>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::conformance {

// Returns the names of the symbols `path` exports: defined (not UND), GLOBAL, WEAK or
// GNU_UNIQUE binding, DEFAULT or PROTECTED visibility entries of .dynsym. Version-node
// definitions (ABS, size 0) are skipped. Errors name the file and what is malformed.
Result<std::vector<std::string>> ExportedSymbols(const std::string& path);

}  // namespace latchkey::conformance

#endif  // LATCHKEY_SDK_CONFORMANCE_ELF_EXPORTS_H_
