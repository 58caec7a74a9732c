// In-process fleet seeding for the load bench (see fleet_seed.h).
#include "fleet_seed.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>

#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/server/state.h"
#include "hearth/server/store.h"

namespace hearth::bench {

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Runs work(i) for i in [0, n) on `threads` threads; the first error wins and stops the rest.
Status ForEach(int n, int threads, const std::function<Status(int, int)>& work) {
  std::atomic<int> next{0};
  std::mutex mu;
  Status first = OkStatus();
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = next++; i < n && !failed; i = next++) {
        Status s = work(i, t);
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (!failed.exchange(true)) first = s;
        }
      }
    });
  }
  for (auto& p : pool) p.join();
  return first;
}

}  // namespace

StatusOr<SeededFleet> SeedFleet(const SeedOptions& o) {
  SeededFleet fleet;
  const auto n = static_cast<size_t>(o.count);
  fleet.certs.resize(n);
  fleet.keys.resize(n);
  std::vector<server::DeviceRecord> records(n);
  HEARTH_ASSIGN_OR_RETURN(server::ServerKeys keys, server::LoadServerKeys(o.state_dir));
  const server::TimePoint now = std::chrono::system_clock::now();

  // Keys and certificates: what the enrol handler issues (device-api.cc issueCertificate), with a
  // device key made here instead of the agent's.
  auto t0 = Clock::now();
  HEARTH_RETURN_IF_ERROR(ForEach(o.count, o.key_threads, [&](int j, int) -> Status {
    const auto u = static_cast<size_t>(j);
    HEARTH_ASSIGN_OR_RETURN(std::string device_id, protocol::RandomUuid());
    // The fleet enrolled over the last `enrolled_over` (a rollout, not one burst: the server's
    // spike rule counts a secret's enrolments within its window), oldest first.
    const server::TimePoint enrolled =
        now - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  o.enrolled_over * (static_cast<double>(o.count - j) / o.count));
    protocol::CertificateInfo info;
    if (o.connects && !o.connects(o.first + j)) {
      // Never connects here: a certificate's identity without the certificate (a P-256 key and
      // a certificate cost 3 to 6 ms each on this machine, mostly OpenSSL 3's PEM codecs).
      HEARTH_ASSIGN_OR_RETURN(std::string a, protocol::RandomUuid());
      HEARTH_ASSIGN_OR_RETURN(std::string b, protocol::RandomUuid());
      info.serial_hex = protocol::Sha256Hex(a).substr(0, 16);
      info.spki_sha256 = protocol::Sha256Hex(b);
      info.not_after = enrolled + std::chrono::hours(24 * 365);
    } else {
      HEARTH_ASSIGN_OR_RETURN(protocol::Key key, protocol::Key::generateP256());
      HEARTH_ASSIGN_OR_RETURN(std::string public_pem, key.publicPem());
      HEARTH_ASSIGN_OR_RETURN(fleet.keys[u], key.privatePem());
      protocol::CertificateRequest cr;
      cr.common_name = device_id;
      cr.client_auth = true;
      cr.not_before = enrolled - std::chrono::minutes(5);
      cr.not_after = enrolled + std::chrono::hours(24 * 365);
      HEARTH_ASSIGN_OR_RETURN(
          fleet.certs[u],
          protocol::IssueCertificate(cr, public_pem, keys.device_ca_key, keys.device_ca_cert));
      HEARTH_ASSIGN_OR_RETURN(info, protocol::ParseCertificate(fleet.certs[u]));
    }
    server::DeviceRecord& d = records[u];
    d.device_id = device_id;
    d.hostname = "pc-" + std::to_string(o.first + j);
    d.cert_serial = info.serial_hex;
    d.cert_key_sha256 = info.spki_sha256;
    d.cert_not_after = info.not_after;
    d.enrolled_at = enrolled;
    return OkStatus();
  }));
  fleet.keys_seconds = Since(t0);

  // Enrolment: one transaction per device, on `store_threads` connections of their own.
  const std::string uri = server::DatabaseUri(o.state_dir, o.database);
  // PostgreSQL: the seeding's own connections commit without waiting for the WAL flush (they
  // would take 20 minutes at 100,000 devices with fsync here); libpq reads PGOPTIONS when it
  // connects, and it is unset again before anything else (the server) starts.
  const bool postgres = uri.starts_with("postgres");
  if (postgres) ::setenv("PGOPTIONS", "-c synchronous_commit=off", 1);
  struct Unset {
    bool on;
    ~Unset() {
      if (on) ::unsetenv("PGOPTIONS");
    }
  } unset{postgres};
  std::vector<std::unique_ptr<server::Store>> stores;
  for (int t = 0; t < std::max(1, o.store_threads); ++t) {
    HEARTH_ASSIGN_OR_RETURN(auto store, server::OpenStore(uri, server::OpenMode::kExisting));
    stores.push_back(std::move(store));
  }
  const std::string secret_hash = server::HashSecret(o.secret);
  t0 = Clock::now();
  HEARTH_RETURN_IF_ERROR(
      ForEach(o.count, static_cast<int>(stores.size()), [&](int j, int t) -> Status {
        const server::DeviceRecord& d = records[static_cast<size_t>(j)];
        auto stored = stores[static_cast<size_t>(t)]->enrollDevice(secret_hash, d, d.enrolled_at);
        return stored.status();
      }));
  fleet.enrol_seconds = Since(t0);

  // First reports, parsed as the server parses an envelope, stored in group-commit batches.
  t0 = Clock::now();
  const int batch = std::max(1, o.report_batch);
  const int batches = (o.count + batch - 1) / batch;
  HEARTH_RETURN_IF_ERROR(
      ForEach(batches, static_cast<int>(stores.size()), [&](int b, int t) -> Status {
        std::vector<server::NewReport> reports;
        for (int j = b * batch; j < std::min(o.count, (b + 1) * batch); ++j) {
          HEARTH_ASSIGN_OR_RETURN(protocol::ReportEnvelope env,
                                  protocol::ReportEnvelope::parse(o.first_report(o.first + j)));
          server::NewReport r;
          r.device_id = records[static_cast<size_t>(j)].device_id;
          r.report_id = env.report_id;
          r.sequence = env.sequence;
          r.sent_at = env.sent_at;
          r.agent_version = env.agent_version;
          r.machine_id = env.machine_id;
          r.result = std::move(env.result);
          r.received_at = std::chrono::system_clock::now();
          reports.push_back(std::move(r));
        }
        return stores[static_cast<size_t>(t)]->ingestReports(reports).status();
      }));
  fleet.reports_seconds = Since(t0);
  return fleet;
}

}  // namespace hearth::bench
