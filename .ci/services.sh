#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests talk to are running on 127.0.0.1 (installing them from the
# distribution's packages when they are missing and we may). Tests elsewhere can point at other servers
# with VITALIS_TEST_DATABASE_URL and VITALIS_TEST_REDIS_URL instead.
set -euo pipefail

if [ -n "${VITALIS_TEST_DATABASE_URL:-}${VITALIS_TEST_REDIS_URL:-}" ]; then
  exit 0
fi

need_install=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_install+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_install+=(redis-server)
if [ ${#need_install[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL and Redis are needed for the tests: install ${need_install[*]} (or set VITALIS_TEST_DATABASE_URL and VITALIS_TEST_REDIS_URL)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >/dev/null
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  version=$(ls /etc/postgresql | sort -n | tail -1)
  conf=/etc/postgresql/$version/main
  # Tests connect as postgres over TCP without a password: trust on loopback only.
  if ! grep -q "vitalis-tests" "$conf/pg_hba.conf"; then
    sed -i '1i host all all 127.0.0.1/32 trust # vitalis-tests\nhost all all ::1/128 trust # vitalis-tests' "$conf/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis did not start on 127.0.0.1:6379" >&2; exit 1; }
