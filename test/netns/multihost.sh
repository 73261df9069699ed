#!/usr/bin/env bash
# Several hosts: three network namespaces joined by veth pairs, with
# addresses in 198.18.0.0/15 (set aside for network benchmark tests):
#
#   host b1 (198.18.1.2)  lbsim --backends-only -n 2   ports 8080, 8081
#   host b2 (198.18.2.2)  lbsim --backends-only -n 2   ports 8080, 8081
#   host c  (198.18.1.1, 198.18.2.1)  lbsim --client-only, round robin over the four
#
# b2's process is killed (SIGKILL) during the run and started again. Checks:
# every request is accounted for in the client's run summary (requests =
# ok + failed, failures by kind add up, per backend too), the outage shows
# as connect/reset failures, and traffic returns to the restarted process
# (its own /metrics counts its answers, and the client counts them as ok).
#
# Needs CAP_NET_ADMIN: decided by trying to make a namespace with a veth pair
# in it. Without it the
# test says why and exits 77 (skipped), or fails when LBSIM_REQUIRE_NETNS=1.
#
# Usage: multihost.sh LBSIM_BINARY
set -u

LBSIM=$1
ID="lbsim$$-${RANDOM}"
NS_C="$ID-c" NS_B1="$ID-b1" NS_B2="$ID-b2"
TMP=
PIDS=()
CREATED=()

say() { printf 'netns: %s\n' "$*"; }
fail() { say "FAIL: $*"; exit 1; }

cannot_run() {
  if [ "${LBSIM_REQUIRE_NETNS:-0}" = 1 ]; then
    fail "cannot run: $* (LBSIM_REQUIRE_NETNS=1)"
  fi
  say "SKIPPED: $*"
  exit 77
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pid ns
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  # Deleting a namespace deletes the veth ends in it, and with them their peers.
  for ns in "${CREATED[@]}"; do
    ip -n "$ns" link del veth0 2>/dev/null
    ip -n "$ns" link del veth1 2>/dev/null
    ip netns del "$ns" 2>/dev/null || say "warning: could not delete namespace $ns"
  done
  [ -z "$TMP" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

command -v ip >/dev/null 2>&1 || cannot_run "the ip command (iproute2) is not installed"
if ! err=$(ip netns add "$NS_C" 2>&1); then
  cannot_run "cannot create a network namespace (needs CAP_NET_ADMIN): $err"
fi
CREATED+=("$NS_C")
# A run killed outright (SIGKILL: no trap runs) leaves its namespaces behind;
# remove those whose test process is gone and in which nothing runs.
for ns in $(ip netns list | sed -n 's/^\(lbsim[0-9]*-[0-9]*-\(c\|b1\|b2\)\)\b.*/\1/p'); do
  owner=${ns#lbsim}
  owner=${owner%%-*}
  if ! kill -0 "$owner" 2>/dev/null && [ -z "$(ip netns pids "$ns" 2>/dev/null)" ]; then
    ip netns del "$ns" 2>/dev/null && say "removed $ns, left behind by an earlier run"
  fi
done
# Making a namespace needs CAP_SYS_ADMIN; putting links in it needs CAP_NET_ADMIN.
if ! err=$(ip -n "$NS_C" link add probe0 type veth peer name probe1 2>&1); then
  cannot_run "cannot create a veth pair in a network namespace (needs CAP_NET_ADMIN): $err"
fi
ip -n "$NS_C" link del probe0
TMP=$(mktemp -d) || fail "mktemp"
for ns in "$NS_B1" "$NS_B2"; do
  ip netns add "$ns" || fail "ip netns add $ns"
  CREATED+=("$ns")
done

# c:veth1 <-> b1:veth0, c:veth2 <-> b2:veth0. Links are made inside the
# namespaces, so nothing is added to the namespace the test runs in.
net() { ip "$@" || fail "ip $*"; }
net -n "$NS_C" link add veth1 type veth peer name veth0 netns "$NS_B1"
net -n "$NS_C" link add veth2 type veth peer name veth0 netns "$NS_B2"
net -n "$NS_C" addr add 198.18.1.1/24 dev veth1
net -n "$NS_C" addr add 198.18.2.1/24 dev veth2
net -n "$NS_B1" addr add 198.18.1.2/24 dev veth0
net -n "$NS_B2" addr add 198.18.2.2/24 dev veth0
for ns in "$NS_C" "$NS_B1" "$NS_B2"; do net -n "$ns" link set lo up; done
net -n "$NS_C" link set veth1 up
net -n "$NS_C" link set veth2 up
net -n "$NS_B1" link set veth0 up
net -n "$NS_B2" link set veth0 up
say "namespaces $NS_C $NS_B1 $NS_B2 joined by veth pairs (198.18.1.0/24, 198.18.2.0/24)"

# Waits (bounded) until FILE has a line matching REGEX.
wait_for() {
  local file=$1 regex=$2 what=$3
  for _ in $(seq 200); do
    grep -Eq -- "$regex" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  say "--- $file"; cat "$file"
  fail "timed out waiting for $what"
}

rounds_done() { grep -c '^=== Traffic Round' "$TMP/client.out" 2>/dev/null; }

# Waits (bounded) until the client has printed N more rounds.
wait_rounds() {
  local target=$(($(rounds_done) + $1))
  for _ in $(seq 300); do
    [ "$(rounds_done)" -ge "$target" ] && return 0
    kill -0 "$CLIENT" 2>/dev/null || fail "the client exited early"
    sleep 0.05
  done
  fail "timed out waiting for $1 more rounds"
}

start_backends() { # NS ADDR LOG
  ip netns exec "$1" "$LBSIM" --backends-only --host "$2" --port-base 8080 -n 2 --latency 2 \
    --drift-period 0 --seed 1 >/dev/null 2>"$3" &
  PIDS+=($!)
  wait_for "$3" 'backend 2 listening' "the backends on $2"
}

# GET /metrics from inside the client's namespace (bash's /dev/tcp, HTTP/1.0).
# shellcheck disable=SC2016 # $0 and $1 are the inner shell's
answered_200() { # ADDR PORT -> the backend's count of 200 answers
  ip netns exec "$NS_C" bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3
    cat <&3' "$1" "$2" | sed -n 's/^lbsim_backend_requests_total{backend="[0-9]*",code="200"} \([0-9]*\).*/\1/p'
}

start_backends "$NS_B1" 198.18.1.2 "$TMP/b1.err"
start_backends "$NS_B2" 198.18.2.2 "$TMP/b2.err"
B2=${PIDS[-1]}

URLS=(http://198.18.1.2:8080/ping http://198.18.1.2:8081/ping http://198.18.2.2:8080/ping
      http://198.18.2.2:8081/ping)
args=(--client-only --policy round-robin --burst 8 --sleep 0.02 --timeout 2 --duration 40 --seed 1
      --metrics 198.18.1.1:9100)
for u in "${URLS[@]}"; do args+=(--server "$u"); done
ip netns exec "$NS_C" "$LBSIM" "${args[@]}" >"$TMP/client.out" 2>"$TMP/client.err" &
CLIENT=$!
PIDS+=("$CLIENT")

wait_rounds 10
say "$(rounds_done) rounds with every backend up; killing host b2's process (pid $B2)"
kill -KILL "$B2"
wait "$B2" 2>/dev/null
wait_rounds 10
say "$(rounds_done) rounds; starting host b2's backends again"
start_backends "$NS_B2" 198.18.2.2 "$TMP/b2-again.err"
B2=${PIDS[-1]}

# Traffic returns: the new process answers both of its backends' requests.
back=0
for _ in $(seq 200); do
  n1=$(answered_200 198.18.2.2 8080) n2=$(answered_200 198.18.2.2 8081)
  if [ "${n1:-0}" -gt 0 ] && [ "${n2:-0}" -gt 0 ]; then back=1; break; fi
  sleep 0.05
done
[ "$back" = 1 ] || fail "the restarted backends got no traffic (200 answers: ${n1:-none}, ${n2:-none})"
say "the restarted backends answer again (200 answers so far: $n1, $n2)"
wait_rounds 10

# A Prometheus on another host scrapes the client: from host b1, over the
# link, its read-only --metrics endpoint; and it cannot change anything there.
# shellcheck disable=SC2016 # $0 is the inner shell's
scrape=$(ip netns exec "$NS_B1" bash -c '
  exec 3<>/dev/tcp/198.18.1.1/9100 || exit 1
  printf "$0 /metrics HTTP/1.0\r\nHost: 198.18.1.1:9100\r\n\r\n" >&3
  cat <&3' GET)
ok_seen=$(printf '%s\n' "$scrape" | sed -n 's/^lbsim_client_requests_total{policy="round-robin",backend="[^"]*",result="ok"} \([0-9]*\).*/\1/p' |
  awk '{s += $1} END {print s + 0}')
[ "$ok_seen" -gt 0 ] || fail "host b1 scraped no completed request from the client's --metrics: $(printf '%s' "$scrape" | head -3)"
post=$(ip netns exec "$NS_B1" bash -c '
  exec 3<>/dev/tcp/198.18.1.1/9100 || exit 1
  printf "$0 /metrics HTTP/1.0\r\nHost: 198.18.1.1:9100\r\nContent-Length: 0\r\n\r\n" >&3
  head -1 <&3' POST)
case "$post" in "HTTP/1.1 405"*) ;; *) fail "a POST to --metrics got: $post" ;; esac
say "host b1 scraped the client's metrics over the link ($ok_seen ok so far); a POST there is refused"

kill -TERM "$CLIENT"
for _ in $(seq 100); do kill -0 "$CLIENT" 2>/dev/null || break; sleep 0.1; done
kill -0 "$CLIENT" 2>/dev/null && fail "the client did not stop within 10 s of SIGTERM"
wait "$CLIENT"
code=$?
[ "$code" = 0 ] || { cat "$TMP/client.err"; fail "the client exited $code"; }

summary=$(sed -n '/^=== Run Summary ===$/,$p' "$TMP/client.out")
say "client's run summary:"
printf '%s\n' "$summary"
[ -n "$summary" ] || fail "no run summary"

num() { # KEY TEXT -> the number after KEY= in TEXT
  printf '%s\n' "$2" | sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" | head -1
}

total=$(printf '%s\n' "$summary" | grep '^requests=')
req=$(num requests "$total") ok=$(num ok "$total") failed=$(num failed "$total")
if [ -z "$req" ] || [ -z "$ok" ] || [ -z "$failed" ]; then fail "cannot read the totals line: $total"; fi
[ "$req" -eq $((ok + failed)) ] || fail "requests=$req is not ok+failed=$((ok + failed))"
[ "$failed" -gt 0 ] || fail "no failure counted while host b2 was down"

kinds=$(printf '%s\n' "$summary" | grep '^failures:')
sum=0
for k in connect reset timeout bad_response status cancelled; do
  v=$(num "$k" "$kinds")
  [ -n "$v" ] || fail "failures line has no $k: $kinds"
  sum=$((sum + v))
done
[ "$sum" -eq "$failed" ] || fail "failures by kind add up to $sum, not failed=$failed"
[ $(($(num connect "$kinds") + $(num reset "$kinds"))) -gt 0 ] || fail "the outage shows no connect or reset failure"

breq=0 bok=0
for u in "${URLS[@]}"; do
  line=$(printf '%s\n' "$summary" | grep -F "$u: requests=")
  [ -n "$line" ] || fail "no summary line for $u"
  r=$(num requests "$line") o=$(num ok "$line") f=$(num failed "$line")
  [ "$r" -eq $((o + f)) ] || fail "$u: requests=$r is not ok+failed"
  [ "$o" -gt 0 ] || fail "$u: no request succeeded"
  breq=$((breq + r)) bok=$((bok + o))
done
[ "$breq" -eq "$req" ] || fail "the backends' requests add up to $breq, not $req"
[ "$bok" -eq "$ok" ] || fail "the backends' ok add up to $bok, not $ok"

# After the restart, round robin gives each of b2's backends 2 requests a
# round: the new process must have answered most of the last 10 rounds', and
# the client must have counted every one of those answers as ok.
for port in 8080 8081; do
  served=$(answered_200 198.18.2.2 $port)
  line=$(printf '%s\n' "$summary" | grep -F "http://198.18.2.2:$port/ping: requests=")
  [ "${served:-0}" -ge 10 ] || fail "the restarted backend on port $port answered only ${served:-0} requests"
  [ "$(num ok "$line")" -ge "$served" ] || fail "the client counted fewer ok for port $port than it got answers"
done

say "ok: $req requests = $ok ok + $failed failed ($kinds), traffic back on host b2"
exit 0
