// Smoke test of the Windows toolchain (issue 17): built with mingw-w64 against the static
// OpenSSL, libcurl and GoogleTest of scripts/build-windows-deps, run under Wine by ctest.
// The HTTPS tests talk to an `openssl s_server` on 127.0.0.1 that with-tls-server starts; it
// passes the URL, the CA files (as Windows paths) and the server key's pin in the environment.
// clang-format off
#include <winsock2.h>  // before windows.h, as curl/curl.h needs
#include <windows.h>
// clang-format on

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0x0f];
  }
  return out;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

Pkey NewEd25519Key() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &key) != 1) {
    return nullptr;
  }
  return Pkey(key);
}

std::vector<unsigned char> Sign(EVP_PKEY* key, const std::string& message) {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, data, message.size()) != 1) {
    return {};
  }
  std::vector<unsigned char> signature(size);
  if (EVP_DigestSign(ctx.get(), signature.data(), &size, data, message.size()) != 1) return {};
  signature.resize(size);
  return signature;
}

bool Verify(EVP_PKEY* key, const std::string& message, const std::vector<unsigned char>& sig) {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), sig.data(), sig.size(),
                          reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

TEST(OpenSsl, Sha256OfAbcIsTheFips180Vector) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const std::string abc = "abc";
  ASSERT_EQ(EVP_Digest(abc.data(), abc.size(), digest, &size, EVP_sha256(), nullptr), 1);
  EXPECT_EQ(Hex(digest, size), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(OpenSsl, Ed25519SignsVerifiesAndRejectsATamperedMessage) {
  Pkey key = NewEd25519Key();
  ASSERT_NE(key, nullptr);
  const std::string message = "hearth report, sequence 1";
  const std::vector<unsigned char> signature = Sign(key.get(), message);
  ASSERT_EQ(signature.size(), 64u);
  EXPECT_TRUE(Verify(key.get(), message, signature));
  EXPECT_FALSE(Verify(key.get(), "hearth report, sequence 2", signature));
  std::vector<unsigned char> flipped = signature;
  flipped[10] ^= 0x01;
  EXPECT_FALSE(Verify(key.get(), message, flipped));
  Pkey other = NewEd25519Key();
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(Verify(other.get(), message, signature));
}

TEST(OpenSsl, RandomBytesDifferBetweenDraws) {
  unsigned char a[32];
  unsigned char b[32];
  ASSERT_EQ(RAND_bytes(a, sizeof a), 1);
  ASSERT_EQ(RAND_bytes(b, sizeof b), 1);
  EXPECT_NE(std::memcmp(a, b, sizeof a), 0);
}

// The directories compiled in are ones only administrators can create (the mingw default,
// C:\usr\local\ssl, is not), and nothing is loaded from them unless the program asks.
TEST(OpenSsl, CompiledInDirectoriesAreUnderProgramFiles) {
  EXPECT_STREQ(OPENSSL_info(OPENSSL_INFO_CONFIG_DIR), "C:/Program Files/Hearth/ssl");
  EXPECT_STREQ(OPENSSL_info(OPENSSL_INFO_ENGINES_DIR), "C:/Program Files/Hearth/engines-3");
  EXPECT_STREQ(OPENSSL_info(OPENSSL_INFO_MODULES_DIR), "C:/Program Files/Hearth/ossl-modules");
  EXPECT_NE(std::string(OpenSSL_version(OPENSSL_VERSION)).find("OpenSSL 3.0."), std::string::npos);
}

TEST(Curl, VersionInfoNamesOpenSslAndOnlyHttpAndHttps) {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  ASSERT_NE(info, nullptr);
  ASSERT_NE(info->ssl_version, nullptr);
  EXPECT_TRUE(std::string(info->ssl_version).starts_with("OpenSSL/3.0.")) << info->ssl_version;
  EXPECT_NE(info->features & CURL_VERSION_SSL, 0);
  EXPECT_NE(info->features & CURL_VERSION_IPV6, 0);
  EXPECT_EQ(info->features & CURL_VERSION_LIBZ, 0);
  std::set<std::string> protocols;
  for (const char* const* p = info->protocols; *p != nullptr; ++p) protocols.insert(*p);
  EXPECT_EQ(protocols, (std::set<std::string>{"http", "https"}));
}

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

struct Fetched {
  CURLcode code = CURLE_FAILED_INIT;
  long status = 0;
  std::string body;
  std::string error;
};

Fetched Get(const std::string& url, const std::string& ca_file, const std::string& pin) {
  Fetched out;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return out;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  if (!pin.empty()) curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, pin.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  out.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  out.error = error;
  curl_easy_cleanup(curl);
  return out;
}

class LoopbackHttps : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = Env("HEARTH_SMOKE_URL");
    ca_ = Env("HEARTH_SMOKE_CA");
    other_ca_ = Env("HEARTH_SMOKE_OTHER_CA");
    pin_ = Env("HEARTH_SMOKE_PIN");
    ASSERT_FALSE(url_.empty() || ca_.empty() || other_ca_.empty() || pin_.empty())
        << "run through tests/windows/smoke/with-tls-server (ctest -L windows does)";
    ASSERT_TRUE(url_.starts_with("https://127.0.0.1:")) << "loopback only: " << url_;
  }
  std::string url_, ca_, other_ca_, pin_;
};

TEST_F(LoopbackHttps, GetsTheFileFromTheServerItsCaSigned) {
  const Fetched got = Get(url_, ca_, "");
  ASSERT_EQ(got.code, CURLE_OK) << got.error;
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "hearth smoke\n");
}

TEST_F(LoopbackHttps, GetsTheFileWhenTheServerKeyMatchesThePin) {
  const Fetched got = Get(url_, ca_, pin_);
  ASSERT_EQ(got.code, CURLE_OK) << got.error;
  EXPECT_EQ(got.body, "hearth smoke\n");
}

TEST_F(LoopbackHttps, RefusesTheServerUnderAnotherCa) {
  const Fetched got = Get(url_, other_ca_, "");
  EXPECT_EQ(got.code, CURLE_PEER_FAILED_VERIFICATION) << got.error;
  EXPECT_TRUE(got.body.empty());
}

TEST_F(LoopbackHttps, RefusesTheServerWhenItsKeyIsNotThePin) {
  const Fetched got = Get(url_, ca_, "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  EXPECT_EQ(got.code, CURLE_SSL_PINNEDPUBKEYNOTMATCH) << got.error;
  EXPECT_TRUE(got.body.empty());
}

// The posix-threads variant of mingw-w64 GCC 12 is the one with std::thread and friends.
TEST(Threads, ThreadMutexAndConditionVariableWork) {
  std::mutex mutex;
  std::condition_variable ready;
  int value = 0;
  std::thread worker([&] {
    std::lock_guard<std::mutex> lock(mutex);
    value = 42;
    ready.notify_one();
  });
  {
    std::unique_lock<std::mutex> lock(mutex);
    ready.wait(lock, [&] { return value != 0; });
  }
  worker.join();
  EXPECT_EQ(value, 42);
}

TEST(Windows, RunsAsA64BitWindowsProcess) {
  SYSTEM_INFO info;
  GetNativeSystemInfo(&info);
  EXPECT_EQ(info.wProcessorArchitecture, PROCESSOR_ARCHITECTURE_AMD64);
  EXPECT_EQ(sizeof(void*), 8u);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 2;
  const int result = RUN_ALL_TESTS();
  curl_global_cleanup();
  return result;
}
