#include "elf_exports.h"

#include <elf.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace latchkey::conformance {

namespace {

template <typename T>
bool ReadAt(const std::vector<char>& file, uint64_t offset, T* out) {
  if (offset > file.size() || file.size() - offset < sizeof(T)) return false;
  std::memcpy(out, file.data() + offset, sizeof(T));
  return true;
}

}  // namespace

Result<std::vector<std::string>> ExportedSymbols(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path + ": " + std::strerror(errno));
  std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError(path + " is not a valid ELF64 shared object: " + why);
  };
  Elf64_Ehdr eh;
  if (!ReadAt(file, 0, &eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
    return bad("no ELF header");
  }
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
    return bad("not 64-bit little-endian");
  }
  if (eh.e_shoff == 0 || eh.e_shentsize != sizeof(Elf64_Shdr)) {
    return bad("no section headers");
  }
  std::vector<Elf64_Shdr> sections(eh.e_shnum);
  for (size_t i = 0; i < sections.size(); ++i) {
    if (!ReadAt(file, eh.e_shoff + i * sizeof(Elf64_Shdr), &sections[i])) {
      return bad("section header " + std::to_string(i) + " is truncated");
    }
  }
  std::vector<std::string> names;
  bool found = false;
  for (const Elf64_Shdr& sh : sections) {
    if (sh.sh_type != SHT_DYNSYM) continue;
    found = true;
    if (sh.sh_link >= sections.size() || sh.sh_entsize != sizeof(Elf64_Sym)) {
      return bad(".dynsym has a bad string table link or entry size");
    }
    const Elf64_Shdr& strtab = sections[sh.sh_link];
    if (strtab.sh_offset > file.size() || file.size() - strtab.sh_offset < strtab.sh_size) {
      return bad(".dynstr is truncated");
    }
    for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      if (!ReadAt(file, sh.sh_offset + off, &sym)) return bad(".dynsym is truncated");
      unsigned bind = ELF64_ST_BIND(sym.st_info);
      unsigned vis = ELF64_ST_VISIBILITY(sym.st_other);
      unsigned type = ELF64_ST_TYPE(sym.st_info);
      if (sym.st_shndx == SHN_UNDEF) continue;
      if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE) continue;
      if (vis != STV_DEFAULT && vis != STV_PROTECTED) continue;
      if (type == STT_SECTION || type == STT_FILE) continue;
      if (sym.st_shndx == SHN_ABS && sym.st_size == 0 && sym.st_value == 0) continue;
      if (sym.st_name >= strtab.sh_size) return bad("a symbol name is out of .dynstr");
      const char* s = file.data() + strtab.sh_offset + sym.st_name;
      size_t max = strtab.sh_size - sym.st_name;
      names.emplace_back(s, strnlen(s, max));
    }
  }
  if (!found) return bad("no .dynsym section (not a shared object?)");
  return names;
}

}  // namespace latchkey::conformance
