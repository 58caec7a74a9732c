// The HEARTHBK1 container: scrypt-derived key, AES-256-GCM chunks.
//
//   header (53 bytes, authenticated as part of every chunk's AAD):
//     "HEARTHBK1" | kdf id (1 = scrypt) | log2 N | r | p | salt (16) | nonce prefix (4)
//     | chunk size (4, big-endian) | key check (16: the GCM tag of nothing, index 2^64-1)
//   chunk: flag (1: 0 = more follow, 1 = final) | length (4, big-endian) | ciphertext | tag (16)
//     nonce = nonce prefix | chunk index (8, big-endian)
//     AAD   = header | chunk index (8) | flag | length
// The key check tells a wrong passphrase (or an altered header) from a damaged chunk.
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hearth/server/backup.h"

namespace hearth::server {

namespace {

constexpr std::string_view kMagic = "HEARTHBK1";
constexpr size_t kSaltSize = 16;
constexpr size_t kTagSize = 16;
constexpr size_t kHeaderSize = 9 + 4 + kSaltSize + 4 + 4 + kTagSize;  // 53
constexpr size_t kMaxChunk = 16 << 20;
constexpr uint64_t kKeyCheckIndex = ~uint64_t{0};

void putBe(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t getBe(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

Status writeAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "write the backup");
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return OkStatus();
}

// Reads up to n bytes (fewer only at end of file).
StatusOr<size_t> readUpTo(int fd, char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "read the backup");
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

Status deriveKey(std::string_view passphrase, const unsigned char* salt, KdfParams kdf,
                 unsigned char* key) {
  uint64_t n = uint64_t{1} << kdf.log2_n;
  // scrypt needs 128 * r * N bytes (plus a little); allow that much.
  uint64_t maxmem = 128 * uint64_t{kdf.r} * n * (1 + uint64_t{kdf.p}) + (1 << 20);
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt, kSaltSize, n, kdf.r, kdf.p, maxmem,
                     key, 32) != 1) {
    return InternalError("scrypt key derivation failed");
  }
  return OkStatus();
}

std::string chunkAad(const std::string& header, uint64_t index, bool final, uint32_t length) {
  std::string aad = header;
  putBe(aad, index, 8);
  aad += static_cast<char>(final ? 1 : 0);
  putBe(aad, length, 4);
  return aad;
}

// AES-256-GCM. `tag` is written (encrypt) or checked (decrypt). Decrypt returns false on a tag
// mismatch.
bool gcm(bool encrypt, const unsigned char* key, const unsigned char* prefix, uint64_t index,
         const std::string& aad, const unsigned char* in, size_t n, unsigned char* out,
         unsigned char* tag) {
  unsigned char nonce[12];
  std::memcpy(nonce, prefix, 4);
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<unsigned char>(index >> (8 * (7 - i)));
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return false;
  bool ok = false;
  int len = 0;
  do {
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, nonce, encrypt ? 1 : 0) != 1) {
      break;
    }
    if (EVP_CipherUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                         static_cast<int>(aad.size())) != 1) {
      break;
    }
    if (n > 0 && EVP_CipherUpdate(ctx, out, &len, in, static_cast<int>(n)) != 1) break;
    if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1) break;
    if (EVP_CipherFinal_ex(ctx, out + (n > 0 ? len : 0), &len) != 1) break;
    if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, tag) != 1) break;
    ok = true;
  } while (false);
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

}  // namespace

StatusOr<std::unique_ptr<BackupWriter>> BackupWriter::create(int fd, std::string_view passphrase,
                                                             KdfParams kdf, size_t chunk_size) {
  return create([fd](std::string_view data) { return writeAll(fd, data.data(), data.size()); },
                passphrase, kdf, chunk_size);
}

StatusOr<std::unique_ptr<BackupWriter>> BackupWriter::create(Sink sink, std::string_view passphrase,
                                                             KdfParams kdf, size_t chunk_size) {
  if (passphrase.empty()) return InvalidArgumentError("the passphrase is empty");
  if (chunk_size == 0 || chunk_size > kMaxChunk) return InvalidArgumentError("bad chunk size");
  std::unique_ptr<BackupWriter> w(new BackupWriter());
  w->sink_ = std::move(sink);
  w->chunk_size_ = chunk_size;
  unsigned char salt[kSaltSize];
  if (RAND_bytes(salt, kSaltSize) != 1 || RAND_bytes(w->nonce_prefix_, 4) != 1) {
    return InternalError("no random bytes for the backup's salt");
  }
  HEARTH_RETURN_IF_ERROR(deriveKey(passphrase, salt, kdf, w->key_));
  std::string h(kMagic);
  h += static_cast<char>(1);
  h += static_cast<char>(kdf.log2_n);
  h += static_cast<char>(kdf.r);
  h += static_cast<char>(kdf.p);
  h.append(reinterpret_cast<const char*>(salt), kSaltSize);
  h.append(reinterpret_cast<const char*>(w->nonce_prefix_), 4);
  putBe(h, chunk_size, 4);
  unsigned char check[kTagSize];
  if (!gcm(true, w->key_, w->nonce_prefix_, kKeyCheckIndex, h, nullptr, 0, nullptr, check)) {
    return InternalError("AES-256-GCM failed");
  }
  h.append(reinterpret_cast<const char*>(check), kTagSize);
  w->header_ = h;
  HEARTH_RETURN_IF_ERROR(w->sink_(h));
  w->written_ = h.size();
  w->buffer_.reserve(chunk_size);
  return w;
}

BackupWriter::~BackupWriter() { OPENSSL_cleanse(key_, sizeof key_); }

Status BackupWriter::write(std::string_view data) {
  if (finished_) return InternalError("write after finish");
  while (!data.empty()) {
    if (buffer_.size() == chunk_size_) HEARTH_RETURN_IF_ERROR(emit(false));
    size_t take = std::min(data.size(), chunk_size_ - buffer_.size());
    buffer_.append(data.data(), take);
    data.remove_prefix(take);
  }
  return OkStatus();
}

Status BackupWriter::finish() {
  if (finished_) return OkStatus();
  HEARTH_RETURN_IF_ERROR(emit(true));
  finished_ = true;
  return OkStatus();
}

Status BackupWriter::emit(bool final) {
  auto length = static_cast<uint32_t>(buffer_.size());
  std::string out;
  out += static_cast<char>(final ? 1 : 0);
  putBe(out, length, 4);
  size_t at = out.size();
  out.resize(at + length + kTagSize);
  auto* o = reinterpret_cast<unsigned char*>(out.data()) + at;
  if (!gcm(true, key_, nonce_prefix_, index_, chunkAad(header_, index_, final, length),
           reinterpret_cast<const unsigned char*>(buffer_.data()), length, o, o + length)) {
    return InternalError("AES-256-GCM failed");
  }
  HEARTH_RETURN_IF_ERROR(sink_(out));
  written_ += out.size();
  ++index_;
  buffer_.clear();
  return OkStatus();
}

StatusOr<std::unique_ptr<BackupReader>> BackupReader::open(int fd, std::string_view passphrase) {
  if (passphrase.empty()) return InvalidArgumentError("the passphrase is empty");
  std::unique_ptr<BackupReader> r(new BackupReader());
  r->fd_ = fd;
  std::string h(kHeaderSize, '\0');
  HEARTH_ASSIGN_OR_RETURN(size_t got, readUpTo(fd, h.data(), h.size()));
  if (got < kMagic.size() || !h.starts_with(kMagic)) {
    if (got >= 8 && h.starts_with("HEARTHBK")) {
      return InvalidArgumentError(
          "a Hearth backup of a format version this hearth-server does "
          "not know (expected HEARTHBK1); use a newer hearth-server");
    }
    return InvalidArgumentError("not a Hearth backup (no HEARTHBK1 header)");
  }
  if (got < kHeaderSize) return DataLossError("the backup is truncated (inside its header)");
  const auto* u = reinterpret_cast<const unsigned char*>(h.data());
  if (u[9] != 1) return InvalidArgumentError("the backup uses an unknown key derivation");
  KdfParams kdf{u[10], u[11], u[12]};
  if (kdf.log2_n < 10 || kdf.log2_n > 22 || kdf.r < 1 || kdf.r > 32 || kdf.p < 1 || kdf.p > 16) {
    return InvalidArgumentError("the backup's scrypt parameters are out of range (damaged?)");
  }
  const unsigned char* salt = u + 13;
  std::memcpy(r->nonce_prefix_, u + 13 + kSaltSize, 4);
  r->chunk_size_ = getBe(u + 13 + kSaltSize + 4, 4);
  if (r->chunk_size_ == 0 || r->chunk_size_ > kMaxChunk) {
    return InvalidArgumentError("the backup's chunk size is out of range (damaged?)");
  }
  HEARTH_RETURN_IF_ERROR(deriveKey(passphrase, salt, kdf, r->key_));
  r->header_ = h.substr(0, kHeaderSize - kTagSize);
  unsigned char check[kTagSize];
  std::memcpy(check, u + kHeaderSize - kTagSize, kTagSize);
  if (!gcm(false, r->key_, r->nonce_prefix_, kKeyCheckIndex, r->header_, nullptr, 0, nullptr,
           check)) {
    return PermissionDeniedError("wrong passphrase (or the backup's header was altered)");
  }
  r->header_ = h;
  return r;
}

BackupReader::~BackupReader() { OPENSSL_cleanse(key_, sizeof key_); }

Status BackupReader::nextChunk() {
  unsigned char head[5];
  HEARTH_ASSIGN_OR_RETURN(size_t got, readUpTo(fd_, reinterpret_cast<char*>(head), 5));
  if (got == 0) {
    return DataLossError("the backup is truncated: it ends after chunk " + std::to_string(index_) +
                         " without its final chunk");
  }
  if (got < 5 || head[0] > 1) {
    return DataLossError("the backup is damaged or truncated at chunk " + std::to_string(index_));
  }
  bool final = head[0] == 1;
  auto length = static_cast<uint32_t>(getBe(head + 1, 4));
  if (length > chunk_size_ || (!final && length != chunk_size_)) {
    return DataLossError("the backup is damaged at chunk " + std::to_string(index_) +
                         " (bad length)");
  }
  std::string sealed(length + kTagSize, '\0');
  HEARTH_ASSIGN_OR_RETURN(got, readUpTo(fd_, sealed.data(), sealed.size()));
  if (got < sealed.size()) {
    return DataLossError("the backup is truncated inside chunk " + std::to_string(index_));
  }
  plain_.resize(length);
  auto* s = reinterpret_cast<unsigned char*>(sealed.data());
  if (!gcm(false, key_, nonce_prefix_, index_, chunkAad(header_, index_, final, length), s, length,
           reinterpret_cast<unsigned char*>(plain_.data()), s + length)) {
    plain_.clear();
    return DataLossError("the backup is damaged: chunk " + std::to_string(index_) +
                         " failed authentication (altered, reordered or corrupted)");
  }
  pos_ = 0;
  ++index_;
  if (final) {
    char extra;
    HEARTH_ASSIGN_OR_RETURN(got, readUpTo(fd_, &extra, 1));
    if (got != 0) return DataLossError("the backup has data after its final chunk");
    final_seen_ = true;
  }
  return OkStatus();
}

StatusOr<size_t> BackupReader::read(char* out, size_t n) {
  while (pos_ == plain_.size()) {
    if (final_seen_) return size_t{0};
    HEARTH_RETURN_IF_ERROR(nextChunk());
  }
  size_t take = std::min(n, plain_.size() - pos_);
  std::memcpy(out, plain_.data() + pos_, take);
  pos_ += take;
  return take;
}

Status BackupReader::readExact(char* out, size_t n, const std::string& what) {
  size_t got = 0;
  while (got < n) {
    HEARTH_ASSIGN_OR_RETURN(size_t r, read(out + got, n - got));
    if (r == 0) return DataLossError("the backup ends inside " + what);
    got += r;
  }
  return OkStatus();
}

}  // namespace hearth::server
