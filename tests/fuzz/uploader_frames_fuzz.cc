// Fuzzes the channel between the agent's root side and hearth-upload (agent/child_process.cc
// frames, agent/uploader_protocol.cc, agent/uploader_server.cc). The input is the byte stream on
// the channel:
//  - read as frames (4-byte big-endian length, then the bytes): the frames read are exactly a
//    prefix of the stream, each within the reader's limit; the stream then ends with DataLoss (a
//    frame over the limit) or Unavailable (end of the stream), never anything else;
//  - as hearth-upload's request loop sees it (ServeUploader, with a transport that answers
//    without a network): every complete request within the limit gets one answer, in order, each
//    a JSON object the root side reads;
//  - each frame as an answer the root side reads from hearth-upload (the side it must not trust):
//    an error's code is a known one and its text at most kMaxErrorText, a post result's
//    retry_after within -1..3600, previous_sequence only on an acceptance and never negative, the
//    HTTP options' response limit within 0..kMaxFrame.
#include <cstdint>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "fuzz_assert.h"
#include "hearth/agent/child_process.h"
#include "hearth/agent/uploader_protocol.h"
#include "hearth/agent/uploader_server.h"
#include "hearth/json.h"

using namespace hearth;
using namespace hearth::agent;

namespace {

// A small limit so that the fuzzer reaches the oversize path; the real one is uploader::kMaxFrame.
constexpr size_t kLimit = 4096;

class EchoTransport final : public Transport {
 public:
  PostResult postReport(const std::string& envelope) override {
    PostResult r;
    r.kind = envelope.empty() ? PostResult::Kind::kRefused : PostResult::Kind::kAccepted;
    r.http_status = envelope.empty() ? 400 : 202;
    r.previous_sequence = static_cast<int64_t>(envelope.size());
    return r;
  }
  StatusOr<std::string> fetchPolicy(int64_t min_version) override {
    if (min_version < 0) return InvalidArgumentError("negative version");
    return std::string("{}");
  }
};

std::string frameOf(const std::string& payload) {
  const auto n = static_cast<uint32_t>(payload.size());
  std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  return out + payload;
}

// All frames of `stream` read through a socket pair, and the status that ended them.
std::vector<std::string> readAll(const std::string& stream, Status* end) {
  int sv[2];
  FUZZ_ASSERT(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  std::thread writer([&] {
    (void)!::write(sv[1], stream.data(), stream.size());
    ::close(sv[1]);
  });
  std::vector<std::string> frames;
  while (true) {
    auto f = ReadFrame(sv[0], kLimit);
    if (!f.ok()) {
      *end = f.status();
      break;
    }
    frames.push_back(std::move(f).value());
  }
  ::close(sv[0]);
  writer.join();
  return frames;
}

void checkAnswerAsRootSide(const std::string& frame) {
  auto v = uploader::ParseFrame(frame);
  if (!v.ok()) {
    FUZZ_ASSERT(!v.status().message().empty());
    return;
  }
  FUZZ_ASSERT(v->isObject());
  (void)uploader::AnswerOk(*v);
  Status s = uploader::AnswerStatus(*v);
  FUZZ_ASSERT(!s.ok() && s.code() <= StatusCode::kInternal);
  FUZZ_ASSERT(s.message().size() <= uploader::kMaxErrorText);
  PostResult p = uploader::PostFromAnswer(*v);
  FUZZ_ASSERT(p.retry_after_seconds >= -1 && p.retry_after_seconds <= 3600);
  FUZZ_ASSERT(p.error.size() <= uploader::kMaxErrorText);
  if (p.previous_sequence) {
    FUZZ_ASSERT(p.kind == PostResult::Kind::kAccepted && *p.previous_sequence >= 0);
  }
  HttpOptions o = uploader::GetHttpOptions(*v);
  FUZZ_ASSERT(o.max_response_bytes <= uploader::kMaxFrame);
  (void)uploader::OpOf(*v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;
  std::string stream(reinterpret_cast<const char*>(data), size);

  Status end;
  std::vector<std::string> frames = readAll(stream, &end);
  std::string again;
  for (const auto& f : frames) {
    FUZZ_ASSERT(f.size() <= kLimit);
    again += frameOf(f);
  }
  FUZZ_ASSERT(stream.compare(0, again.size(), again) == 0);
  FUZZ_ASSERT(end.code() == StatusCode::kDataLoss || end.code() == StatusCode::kUnavailable);
  if (end.code() == StatusCode::kDataLoss) FUZZ_ASSERT(stream.size() >= again.size() + 4);

  for (const auto& f : frames) checkAnswerAsRootSide(f);

  // hearth-upload's loop over the frames within the limit (its own limit is larger).
  std::string requests;
  for (const auto& f : frames) requests += frameOf(f);
  int sv[2];
  FUZZ_ASSERT(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  std::thread server([&] {
    ServeUploader(sv[1], [](const json::Value& configure) -> StatusOr<std::unique_ptr<Transport>> {
      if (uploader::GetHttpOptions(configure).pin == "refuse") {
        return InvalidArgumentError("refused");
      }
      return std::unique_ptr<Transport>(new EchoTransport);
    });
    ::close(sv[1]);
  });
  (void)!::write(sv[0], requests.data(), requests.size());
  ::shutdown(sv[0], SHUT_WR);
  size_t answers = 0;
  while (true) {
    auto a = ReadFrame(sv[0], uploader::kMaxFrame);
    if (!a.ok()) break;
    auto v = uploader::ParseFrame(*a);
    FUZZ_ASSERT(v.ok());
    ++answers;
  }
  server.join();
  ::close(sv[0]);
  FUZZ_ASSERT(answers == frames.size());
  return 0;
}
