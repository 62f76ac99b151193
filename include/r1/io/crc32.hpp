#pragma once
// CRC-32, the one checksum of r1's binary formats (the checksummed container of
// checkpoints, optimizer state).
#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace r1 {

// CRC-32 as in IEEE 802.3 / zlib (reflected polynomial 0xEDB88320, initial and
// final XOR 0xFFFFFFFF); check value CRC-32("123456789") = 0xCBF43926. It detects
// every single-bit error and every burst up to 32 bits. Eight bytes a step
// (slicing-by-8, Kounavis & Berry 2008): multi-GB checkpoints are checksummed at
// memory-ish speed instead of one table lookup a byte.
namespace detail {
inline const std::array<std::array<std::uint32_t, 256>, 8>& crc32_tables() {
  static const auto tables = [] {
    std::array<std::array<std::uint32_t, 256>, 8> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t value = i;
      for (int bit = 0; bit < 8; ++bit) value = (value & 1u) ? (value >> 1) ^ 0xEDB88320u : value >> 1;
      t[0][i] = value;
    }
    for (std::size_t k = 1; k < 8; ++k)
      for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
    return t;
  }();
  return tables;
}
}  // namespace detail

inline std::uint32_t crc32(std::string_view bytes, std::uint32_t previous = 0) {
  const auto& t = detail::crc32_tables();
  std::uint32_t crc = ~previous;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  for (; n >= 8; n -= 8, p += 8) {
    const std::uint32_t lo = crc ^ (std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
                                    std::uint32_t{p[3]} << 24);
    crc = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^ t[3][p[4]] ^
          t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
  }
  for (; n > 0; --n, ++p) crc = t[0][(crc ^ *p) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

// CRC-32 of A followed by B from crc32(A), crc32(B) and B's length, without reading either (zlib's
// crc32_combine: crc(A·B) = crc(A)·x^(8|B|) + crc(B) mod the polynomial). Lets a writer checksum each
// section once and still give the whole-file checksum.
namespace detail {
// a(x) · b(x) modulo the CRC polynomial, reflected (zlib's multmodp); a != 0.
inline std::uint32_t crc32_multiply(std::uint32_t a, std::uint32_t b) {
  std::uint32_t m = 1u << 31, product = 0;
  for (;;) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = b & 1u ? (b >> 1) ^ 0xEDB88320u : b >> 1;
  }
  return product;
}
// x^(n · 2^k) modulo the polynomial (zlib's x2nmodp).
inline std::uint32_t crc32_x_power(std::uint64_t n, unsigned k) {
  static const auto powers = [] {  // x^(2^j), j = 0..31
    std::array<std::uint32_t, 32> table{};
    std::uint32_t p = 1u << 30;  // x^1
    table[0] = p;
    for (std::size_t j = 1; j < 32; ++j) table[j] = p = crc32_multiply(p, p);
    return table;
  }();
  std::uint32_t p = 1u << 31;  // x^0
  for (; n != 0; n >>= 1, ++k)
    if (n & 1u) p = crc32_multiply(powers[k & 31u], p);
  return p;
}
}  // namespace detail
inline std::uint32_t crc32_combine(std::uint32_t crc_first, std::uint32_t crc_second, std::uint64_t second_length) {
  return detail::crc32_multiply(detail::crc32_x_power(second_length, 3), crc_first) ^ crc_second;
}

}  // namespace r1
