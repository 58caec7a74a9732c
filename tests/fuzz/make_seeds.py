#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) from the fixtures
(tests/fixtures/linux/...) and from small documents made here (PEM material with openssl, report
envelopes, signed-policy envelopes, uploader frames, HTTP requests). Run from the repository root;
it only adds files (crash regressions already in the corpus stay). corpus/README.md says what came
from where."""
import base64
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile

FIX = 'tests/fixtures/linux'
OUT = 'tests/fuzz/corpus'
MAX = 64 * 1024


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX:
        return
    os.makedirs(f'{OUT}/{target}', exist_ok=True)
    name = re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:90]
    with open(f'{OUT}/{target}/{name}', 'wb') as f:
        f.write(data)


def fixture_files(pattern, limit):
    files = sorted(glob.glob(f'{FIX}/{pattern}', recursive=True))
    seen, out = set(), []
    for f in files:
        data = open(f, 'rb').read()
        if data in seen or len(data) > MAX:
            continue
        seen.add(data)
        out.append((f, data))
    return out[:limit]


def short(path):
    parts = path.split('/')
    return '_'.join(parts[3:5] + parts[-1:])


# --- checks: files and command outputs recorded in the fixtures --------------------------------
for f, d in fixture_files('disk_encryption/*/proc/self/mountinfo', 30):
    put('mounts', short(f), d)
for f, d in fixture_files('disk_encryption/*/proc/swaps', 6):
    put('mounts', short(f), d)
for f, d in fixture_files('os_patches/*/.hearth/apt-*.txt', 30):
    put('apt', short(f), d)
for f, d in fixture_files('os_patches/*/var/lib/apt/lists/*Release', 4):
    put('apt', short(f), d)
for f, d in fixture_files('os_patches/*/.hearth/dnf*', 20):
    put('dnf', short(f), d)
for f, d in fixture_files('screen_lock/**/*rc', 10) + fixture_files('screen_lock/**/kdeglobals', 4):
    put('kconfig', short(f), d)
for f, d in fixture_files('screen_lock/**/*.xml', 10):
    if b'<channel' in d:
        put('xfconf', short(f), d)
for f in sorted(glob.glob(f'{FIX}/**/.hearth/commands.json', recursive=True)):
    for c in json.load(open(f))['commands']:
        prog, out = os.path.basename(c['argv'][0]), c.get('stdout', '')
        if not out:
            continue
        target = {'cryptsetup': 'cryptsetup', 'dmsetup': 'cryptsetup', 'zfs': 'zfs',
                  'zpool': 'zfs', 'gsettings': 'gsettings'}.get(prog)
        if target:
            put(target, short(f).replace('commands.json', prog + '_' + c['argv'][1]) + '.txt', out)

# gsettings list-recursively (tests/checks/screen_lock_parsers_test.cc shapes)
put('gsettings', 'gnome_defaults.txt',
    "org.gnome.desktop.session idle-delay uint32 300\n"
    "org.gnome.desktop.session session-name 'gnome'\n"
    "org.gnome.desktop.screensaver idle-activation-enabled true\n"
    "org.gnome.desktop.screensaver lock-delay uint32 0\n"
    "org.gnome.desktop.screensaver lock-enabled true\n"
    "org.gnome.desktop.lockdown disable-lock-screen false\n")
put('gsettings', 'ubuntu.txt',
    "org.gnome.desktop.session idle-delay uint32 900\n"
    "org.gnome.desktop.screensaver lock-delay uint32 30\n"
    "org.gnome.desktop.screensaver lock-enabled true\n"
    "org.gnome.desktop.screensaver ubuntu-lock-on-suspend false\n")
put('gsettings', 'cinnamon.txt',
    "org.cinnamon.desktop.session idle-delay uint32 600\n"
    "org.cinnamon.desktop.screensaver lock-enabled true\n"
    "org.cinnamon.desktop.screensaver lock-delay uint32 0\n"
    "org.cinnamon.desktop.lockdown disable-lock-screen false\n"
    "org.cinnamon.settings-daemon.plugins.power lock-on-suspend true\n")
put('gsettings', 'bad_value.txt', "org.gnome.desktop.session idle-delay 'never'\n"
    "org.gnome.desktop.screensaver lock-enabled maybe\n")
put('kconfig', 'kiosk.rc', "[$i]\n[Daemon][$i]\nAutolock=true\nTimeout=5\nLockGrace=0\n"
    "LockOnResume[$i]=true\nName[de]=x\n")
put('xfconf', 'locked_channel.xml',
    '<?xml version="1.0" encoding="UTF-8"?>\n<channel name="xfce4-screensaver" version="1.0" '
    'locked="*">\n  <property name="saver" type="empty">\n    <property name="enabled" '
    'type="bool" value="true"/>\n    <property name="idle-activation" type="empty">\n'
    '      <property name="delay" type="int" value="5" unlocked="@staff"/>\n    </property>\n'
    '  </property>\n  <property name="lock" type="empty">\n    <property name="enabled" '
    'type="bool" value="true"/>\n    <property name="list" type="array">\n      <value '
    'type="string" value="a &amp; b"/>\n    </property>\n  </property>\n</channel>\n')

# --- PEM: CSRs, certificates and public keys made with openssl ----------------------------------
tmp = tempfile.mkdtemp()


def ossl(*args):
    return subprocess.run(['openssl', *args], cwd=tmp, check=True, capture_output=True).stdout


pems = {}
ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'p256.key')
ossl('genpkey', '-algorithm', 'ED25519', '-out', 'ed.key')
ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', 'p384.key')
ossl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'rsa.key')
for k in ['p256', 'ed', 'p384', 'rsa']:
    pems[f'{k}_csr.pem'] = ossl('req', '-new', '-key', f'{k}.key', '-subj', f'/CN=device-{k}')
    pems[f'{k}_pub.pem'] = ossl('pkey', '-in', f'{k}.key', '-pubout')
    pems[f'{k}_cert.pem'] = ossl('req', '-x509', '-key', f'{k}.key', '-subj', f'/CN=ca-{k}',
                                 '-days', '30', '-addext', 'subjectAltName=DNS:hearth.example,'
                                 'IP:10.0.0.1')
pems['p256_pub_compressed.pem'] = ossl('pkey', '-in', 'p256.key', '-pubout', '-ec_conv_form',
                                       'compressed')
csr = pems['p256_csr.pem'].decode()
pems['csr_bad_signature.pem'] = csr[:60] + ('A' if csr[60] != 'A' else 'B') + csr[61:]
for name, data in pems.items():
    put('pem', name, data)
shutil.rmtree(tmp)

# --- the enrolment and renewal requests ----------------------------------------------------------
def enroll(**kw):
    body = {'enroll_secret': 'hes_0123456789abcdef', 'csr': csr, 'hostname': 'pc-alice'}
    body.update(kw)
    return json.dumps({k: v for k, v in body.items() if v is not None})


put('enroll', 'enroll.json', enroll())
put('enroll', 'enroll_owner.json', enroll(owner='Alice Example'))
put('enroll', 'enroll_ed25519.json', enroll(csr=pems['ed_csr.pem'].decode()))
put('enroll', 'enroll_rsa_refused.json', enroll(csr=pems['rsa_csr.pem'].decode()))
put('enroll', 'enroll_control_hostname.json', enroll(hostname='pc\u0007\u009b'))
put('enroll', 'enroll_unknown_field.json', enroll(extra=1))
put('enroll', 'enroll_owner_utf8.json', enroll(owner='\u00e9' * 129))
put('enroll', 'renew.json', json.dumps({'csr': csr}))
put('enroll', 'renew_not_pem.json', json.dumps({'csr': 'hello'}))
put('enroll', 'renew_wrong_type.json', '{"csr": 5}')

# --- report envelopes ------------------------------------------------------------------------------
def result(checks, **kw):
    r = {'compliant': all(c['verdict'] == 'pass' for c in checks), 'level': 'standard',
         'policy_version': 3, 'evaluated_at': '2026-12-01T10:00:00Z',
         'host': {'hostname': 'pc-alice', 'os': 'Debian GNU/Linux 12'}, 'checks': checks}
    r.update(kw)
    return r


def check(cid, verdict, summary='ok', **kw):
    c = {'id': cid, 'verdict': verdict, 'required': True, 'summary': summary,
         'evidence': {}, 'duration_ms': 12}
    c.update(kw)
    return c


def envelope(res, **kw):
    e = {'report_id': '1b4e28ba-2fa1-4d2b-883f-0016d3cca427', 'sequence': 7,
         'sent_at': '2026-12-01T10:00:01+01:00', 'agent_version': '0.1.0',
         'machine_id': 'ab' * 32, 'result': res}
    e.update(kw)
    return json.dumps({k: v for k, v in e.items() if v is not None})


summaries = {}
for f in sorted(glob.glob(f'{FIX}/**/expected.json', recursive=True))[:6]:
    d = json.load(open(f))
    if isinstance(d, dict) and 'verdict' in d:
        summaries[f.split('/')[3]] = d
four = [check('disk_encryption', 'pass', 'everything is encrypted'),
        check('vpn', 'fail', 'no tunnel'), check('os_patches', 'unknown', 'lists are stale'),
        check('screen_lock', 'not_applicable', 'no desktop', required=False)]
put('report', 'report_four_checks.json', envelope(result(four)))
put('report', 'report_device_dropped.json',
    envelope(result(four[:1]), device_id='0f8fad5b-d9cb-469f-a165-70867728950e', dropped=3))
for name, d in summaries.items():
    put('report', f'report_{name}.json',
        envelope(result([check(name, d['verdict'], d.get('summary', ''))])))
put('report', 'report_bad_verdict.json', envelope(result([check('vpn', 'maybe')])))
put('report', 'report_upper_uuid.json', envelope(result(four), report_id='1B4E28BA-2FA1-4D2B-883F-0016D3CCA427'))
put('report', 'report_sequence_zero.json', envelope(result(four), sequence=0))
put('report', 'report_sequence_float.json', envelope(result(four)).replace('"sequence": 7', '"sequence": 7.0'))
put('report', 'report_bad_time.json', envelope(result(four), sent_at='2026-13-01T25:00:00Z'))
put('report', 'report_dropped_too_many.json', envelope(result(four), dropped=10**12))
put('report', 'report_unknown_field.json', envelope(result(four), extra=True))
put('report', 'report_deep.json', envelope(result(four, host={'a': json.loads('[' * 12 + '1' + ']' * 12)})))

# --- the signed policy (agent side) ---------------------------------------------------------------
policy_docs = {p: open(p, 'rb').read() for p in sorted(glob.glob('tests/fuzz/corpus/policy/*.json'))}
policy_docs['packaging'] = open('packaging/policy.example.json', 'rb').read()
for name, doc in policy_docs.items():
    put('signed_policy', 'doc_' + os.path.basename(name), doc)
    d = json.loads(doc) if name != 'tests/fuzz/corpus/policy/dup.json' else {}
    env = {'level': d.get('level', 'standard'), 'version': d.get('version', 1),
           'policy': base64.b64encode(doc).decode(), 'signature': base64.b64encode(b'\0' * 64).decode()}
    put('signed_policy', 'envelope_' + os.path.basename(name), json.dumps(env))
ann = json.dumps({'next_policy_key': pems['ed_pub.pem'].decode(),
                  'server_pins': ['sha256//' + base64.b64encode(b'\1' * 32).decode()]})
put('signed_policy', 'announcement.json', ann)
put('signed_policy', 'envelope_announcement.json', json.dumps({
    'level': 'standard', 'version': 4, 'policy': base64.b64encode(policy_docs['packaging']).decode(),
    'signature': base64.b64encode(b'\0' * 64).decode(), 'announcement': base64.b64encode(ann.encode()).decode(),
    'announcement_signature': base64.b64encode(b'\0' * 64).decode()}))
put('signed_policy', 'doc_version_5.json', json.dumps({'level': 'standard', 'version': 5, 'checks': {}}))

# --- the uploader <-> root frames -----------------------------------------------------------------
def frames(*objs):
    out = b''
    for o in objs:
        b = o if isinstance(o, bytes) else json.dumps(o).encode()
        out += struct.pack('>I', len(b)) + b
    return out


configure = {'op': 'configure', 'server': 'https://hearth.example:8443', 'pin': '', 'ca': '',
             'client_cert': '', 'client_key': '', 'connect_timeout_ms': 5000,
             'total_timeout_ms': 30000, 'max_response_bytes': 1048576, 'keys': ''}
put('uploader_frames', 'configure_post_policy', frames(
    configure, {'op': 'post', 'body': envelope(result(four))}, {'op': 'policy', 'min_version': 2},
    {'op': 'renew', 'device_id': 'x'}, {'op': 'cert_info'}))
put('uploader_frames', 'not_configured', frames({'op': 'post', 'body': '{}'}, {'op': 'nope'}))
put('uploader_frames', 'answers', frames(
    {'ok': True}, {'ok': False, 'code': 14, 'error': 'server unreachable'},
    {'kind': 'accepted', 'http_status': 202, 'retry_after': -1, 'error': '', 'previous_sequence': 6},
    {'kind': 'retry_later', 'http_status': 503, 'retry_after': 99999, 'error': 'x' * 2000},
    {'ok': False, 'code': 99, 'error': 'odd code'}, {'ok': True, 'policy': '{}'}))
put('uploader_frames', 'bad_json_and_array', frames(b'{"op": ', b'[1,2]', b'"str"'))
put('uploader_frames', 'oversize_header', struct.pack('>I', 1 << 30) + b'{}')
put('uploader_frames', 'truncated', struct.pack('>I', 100) + b'{"op": "post"}')
put('uploader_frames', 'refused_configure', frames(dict(configure, pin='refuse'), {'op': 'policy'}))

# --- HTTP requests as the listeners see them ---------------------------------------------------------
ADMIN = 'Authorization: Bearer hearth-fuzz-admin\r\n'
READ = 'Authorization: Bearer hearth-fuzz-read\r\n'


def req(line, headers='', body=''):
    h = f'{line}\r\nHost: 127.0.0.1\r\n{headers}'
    if body:
        h += f'Content-Length: {len(body.encode())}\r\n'
    return h + '\r\n' + body


http = {
    'healthz': req('GET /healthz HTTP/1.1'),
    'metrics': req('GET /metrics HTTP/1.1'),
    'devices': req('GET /api/v1/devices?limit=10&status=noncompliant HTTP/1.1', ADMIN),
    'devices_bad_limit': req('GET /api/v1/devices?limit=0 HTTP/1.1', READ),
    'devices_csv': req('GET /api/v1/devices.csv?status=all&limit=5 HTTP/1.1', READ),
    'feed_cursor': req('GET /api/v1/feed?after=12&limit=1000 HTTP/1.1', READ),
    'audit_read_token': req('GET /api/v1/audit?after=-1 HTTP/1.1', READ),
    'audit': req('GET /api/v1/audit?after=0 HTTP/1.1', ADMIN),
    'device_history': req('GET /api/v1/devices/0f8fad5b-d9cb-469f-a165-70867728950e/history?limit=3 HTTP/1.1', ADMIN),
    'device_owner': req('POST /api/v1/devices/0f8fad5b-d9cb-469f-a165-70867728950e/owner HTTP/1.1',
                        ADMIN + 'Content-Type: application/json\r\n', '{"owner": "Bob"}'),
    'device_retire': req('POST /api/v1/devices/0f8fad5b-d9cb-469f-a165-70867728950e/retire HTTP/1.1', ADMIN, '{}'),
    'percent_path': req('GET /api/v1/dev%69ces?limit=%31 HTTP/1.1', ADMIN),
    'bad_percent': req('GET /api/v1/devices?limit=%zz HTTP/1.1', ADMIN),
    'no_token': req('GET /api/v1/devices HTTP/1.1'),
    'bearer_lower': req('GET /api/v1/devices HTTP/1.1', 'Authorization: bearer hearth-fuzz-admin\r\n'),
    'bearer_empty': req('GET /api/v1/devices HTTP/1.1', 'Authorization: Bearer \r\n'),
    'two_content_lengths': 'POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}',
    'chunked_enroll': 'POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
    'enroll': req('POST /api/v1/enroll HTTP/1.1', 'Content-Type: application/json\r\n', enroll()),
    'enroll_short_body': 'POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"csr": ',
    'report_no_cert': req('POST /api/v1/reports HTTP/1.1', '', envelope(result(four))),
    'policy_get': req('GET /api/v1/policy HTTP/1.1'),
    'pipelined': req('GET /healthz HTTP/1.1') + req('GET /api/v1/feed HTTP/1.1', READ) + req('DELETE /api/v1/devices HTTP/1.1', ADMIN),
    'absolute_uri': req('GET http://127.0.0.1/api/v1/devices?limit=2 HTTP/1.1', ADMIN),
    'http10': 'GET /healthz HTTP/1.0\r\n\r\n',
    'http99': 'GET /healthz HTTP/9.9\r\n\r\n',
    'no_version': 'GET /healthz\r\n\r\n',
    'expect_continue': req('POST /api/v1/enroll HTTP/1.1', 'Expect: 100-continue\r\n', '{"a":1}'),
    'huge_length': 'POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}',
    'unknown_route': req('GET /api/v2/x/../devices HTTP/1.1', ADMIN),
}
for name, data in http.items():
    put('http_request', name + '.http', data)
print('seeds written')
