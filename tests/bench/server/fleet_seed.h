// Seeds a fleet for the load bench (hearth_scale_bench) in-process, without the HTTPS enrol path
// (65 enrolments/s here: 100,000 devices would take 25 minutes), but with what that path makes:
// each device gets its own P-256 key and a client certificate issued by the server's device CA
// (the state directory's device-ca.key, with the fields the server's enrol handler sets), and is
// enrolled through Store::enrollDevice with the server's enrolment secret (one transaction per
// device, as the handler does: the `enrolled` event, the secret's use count), at a time spread
// over the last 90 days (a rollout; the certificate is valid for a year from then). Its first
// report is stored through Store::ingestReports in group-commit batches, as the server's ingestor
// does. The devices' certificates and keys come back so they can then report over real mutual TLS.
// On PostgreSQL the seeding's own connections set synchronous_commit=off (seeding is not measured;
// the server's connections keep the server's settings).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "hearth/status.h"

namespace hearth::bench {

struct SeedOptions {
  std::string state_dir;  // a server's state directory (after `hearth-server init`)
  std::string database;   // "" = its SQLite file, else a PostgreSQL URI
  std::string secret;     // the enrolment secret to enrol with
  int first = 0;          // devices first .. first + count - 1 (hostname "pc-<i>")
  int count = 0;
  int key_threads = 2;     // threads making keys and certificates
  int store_threads = 1;   // connections enrolling (SQLite: 1; PostgreSQL: a few)
  int report_batch = 256;  // first reports stored per transaction
  // Enrolment times spread evenly over this span before now (a rollout).
  std::chrono::duration<double> enrolled_over = std::chrono::hours(24 * 90);
  // The first report of device i (an envelope as the agent sends it), sequence 1.
  std::function<std::string(int)> first_report;
  // Whether device i will connect in this run: only those get a key and a certificate (the
  // others' rows carry a random serial and key hash that no certificate has).
  std::function<bool(int)> connects;
};

struct SeededFleet {
  std::vector<std::string> certs, keys;  // PEM, index i - first; empty when it does not connect
  double keys_seconds = 0, enrol_seconds = 0, reports_seconds = 0;
};

// Seeds the devices; the server must not be running on a SQLite database meanwhile.
StatusOr<SeededFleet> SeedFleet(const SeedOptions& options);

}  // namespace hearth::bench
