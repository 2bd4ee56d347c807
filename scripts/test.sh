#!/usr/bin/env bash
# The whole test suite, exactly what `npm test` and CI run:
#   1. installs the Debian packages the tests need when they are missing (mosquitto, socat,
#      protobuf-compiler for the golden vectors, libusb-1.0-0 for node-hid, faketime for the
#      wall-clock step tests, systemd for systemd-notify and systemd-analyze, python3 for the fake
#      notify socket, nats-server for the broker-cluster failover test),
#   2. makes sure a Mosquitto broker listens on 127.0.0.1:1883 (starts one if none does),
#   3. builds (protobuf code generation + tsc), lints (biome), and runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v socat >/dev/null 2>&1 || missing+=(socat)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
ls /usr/lib/*/libusb-1.0.so.0 /lib/*/libusb-1.0.so.0 >/dev/null 2>&1 || missing+=(libusb-1.0-0)
compgen -G "/usr/lib/*/faketime/libfaketime.so.1" >/dev/null || [ -e /usr/lib/faketime/libfaketime.so.1 ] || missing+=(faketime)
# systemd-notify (the daemon's notify messages) and systemd-analyze (the unit's security score);
# python3 receives the fake notify socket's datagrams (test/support/notify-socket.ts).
command -v systemd-notify >/dev/null 2>&1 && command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# A three-node broker cluster (routes, JetStream, MQTT front end) for the failover test.
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

broker_up() { (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; }
if ! broker_up; then
  echo "test: no broker on 127.0.0.1:1883, starting mosquitto"
  conf="$(mktemp -d)/mosquitto.conf"
  printf 'listener 1883 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\n' >"$conf"
  mosquitto_bin="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
  "$mosquitto_bin" -d -c "$conf"
  for _ in $(seq 1 50); do broker_up && break; sleep 0.1; done
  broker_up || { echo "test: mosquitto did not start" >&2; exit 1; }
fi

npm run build --silent
npx tsc -p tsconfig.test.json   # the tests type-check too (vitest itself does not)
npx biome check --error-on-warnings .
mkdir -p build
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=build/test-results.json "$@" || status=$?
# One plain closing line, whatever the runner printed above it.
node -e '
  const r = JSON.parse(require("fs").readFileSync("build/test-results.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit "$status"
