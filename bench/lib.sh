# shellcheck shell=bash
# What the bench scripts share, sourced (`source "$root/bench/lib.sh"`), never run: the backend,
# peer and ringlb configurations every comparison must agree on, and the small measuring helpers.
# One definition each, so a change to the backend or a peer's options reaches every script
# (compare.sh, ab.sh, kcount.sh, opcount.sh, reload_latency.sh) at once.

# bench_workdir: sets W to a fresh temporary directory; on exit every background job is killed
# and W removed (KEEP set: kept, and its path printed).
bench_workdir() {
  W=$(mktemp -d)
  trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.3
        if [[ -n "${KEEP:-}" ]]; then echo "work directory kept: $W" >&2; else rm -rf "$W"; fi' EXIT
}

# backend_conf DIR WORKERS ADDRESS...: the backend nginx's configuration, on stdout. It listens
# on every ADDRESS (HOST:PORT); / answers "hello\n", /1m and /100m serve DIR/1m.bin and
# DIR/100m.bin (the caller creates the ones its workload fetches). SENDFILE=on makes it send
# files with sendfile(2); off is nginx's own default, and what the figures use.
backend_conf() {
  local dir=$1 workers=$2 listens="" a
  shift 2
  for a in "$@"; do listens+="listen $a reuseport backlog=4096; "; done
  cat <<C
user root; worker_processes $workers; daemon off; pid $dir/b.pid; error_log $dir/b.err;
worker_rlimit_nofile 100000;
events { worker_connections 20000; }
http { access_log off; keepalive_requests 1000000; sendfile ${SENDFILE:-off};
  server { $listens
    location = / { return 200 "hello\n"; }
    location = /1m { root $dir; try_files /1m.bin =404; }
    location = /100m { root $dir; try_files /100m.bin =404; } } }
C
}

# haproxy_options KIND: the options line(s) of a HAProxy variant: haproxy (none), hap-splice
# (option splice-auto), hap-splice-all (option splice-request and splice-response: HAProxy
# splices every transfer it can, as ringlb's relay does for bulk), hap-smart (its connection-saving options, which ringlb's
# tcp_smart_connect, tcp_smart_accept and defer_accept match; defer-accept is on its bind line).
haproxy_options() {
  case $1 in
    haproxy) ;;
    hap-splice) echo "option splice-auto" ;;
    hap-splice-all) printf 'option splice-request\noption splice-response\n' ;;
    hap-smart) printf 'option tcp-smart-connect\noption tcp-smart-accept\n' ;;
    *) echo "lib.sh: no HAProxy variant '$1'" >&2; return 2 ;;
  esac
}

# haproxy_conf KIND THREADS PORT SERVER...: HAProxy in TCP mode on 127.0.0.1:PORT with
# THREADS threads, round robin over the SERVER addresses, with KIND's options; on stdout.
haproxy_conf() {
  local kind=$1 threads=$2 port=$3 opts line i=0 s bind=""
  shift 3
  opts=$(haproxy_options "$kind")
  [[ $kind == hap-smart ]] && bind=" defer-accept"
  printf 'global\n  nbthread %s\n  maxconn 6000\ndefaults\n  mode tcp\n  timeout connect 5s\n' "$threads"
  printf '  timeout client 60s\n  timeout server 60s\nlisten lb\n  bind 127.0.0.1:%s%s\n  balance roundrobin\n' "$port" "$bind"
  while IFS= read -r line; do [[ -n "$line" ]] && echo "  $line"; done <<< "$opts"
  for s in "$@"; do echo "  server s$((++i)) $s"; done
}

# nginx_stream_conf DIR THREADS PORT SERVER...: nginx's stream proxy on 127.0.0.1:PORT with
# THREADS workers, round robin over the SERVER addresses; on stdout.
nginx_stream_conf() {
  local dir=$1 threads=$2 port=$3 servers="" s
  shift 3
  for s in "$@"; do servers+="server $s; "; done
  cat <<C
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes $threads; daemon off; pid $dir/s.pid; error_log $dir/s.err;
worker_rlimit_nofile 100000;
events { worker_connections 65536; }
stream { upstream be { $servers}
  server { listen 127.0.0.1:$port reuseport backlog=4096; proxy_pass be; } }
C
}

# ringlb_conf PORT SERVER [KEY=VALUE...]: one ringlb worker on 127.0.0.1:PORT relaying to SERVER,
# on stdout. KEY is one of standing_receive (global), tcp_smart_accept, defer_accept (frontend),
# relay, tcp_smart_connect (backend). A setting with an empty VALUE is left out of the file, so
# the binary's own default applies, and binaries older than the key still start.
ringlb_conf() {
  local port=$1 server=$2 kv key value global="" frontend="" backend=""
  shift 2
  for kv in "$@"; do
    key=${kv%%=*}; value=${kv#*=}
    [[ -z "$value" ]] && continue
    case $key in
      standing_receive) global+=", $key: $value" ;;
      tcp_smart_accept|defer_accept) frontend+=", $key: $value" ;;
      relay|tcp_smart_connect) backend+="    $key: $value"$'\n' ;;
      *) echo "lib.sh: ringlb_conf has no setting '$key'" >&2; return 2 ;;
    esac
  done
  cat <<C
global: { workers: 1, max_connections: 100000$global }
defaults:
  timeouts: { connect: 5s, client: 60s, server: 60s }
frontends:
  - { name: bench, listen: "127.0.0.1:$port", backend: be$frontend }
backends:
  - name: be
${backend}    servers:
      - { name: b1, address: "$server" }
C
}

# start_backend DIR CPUS: the backend nginx of DIR/backend.conf (backend_conf) pinned to CPUS, in
# the background. BACKEND_RT set: at real-time priority (`chrt -f 1`), so that wrk sharing its CPU
# never preempts it (docs/benchmarks.md, "The tail at 64 bulk connections").
start_backend() {
  local rt=()
  [[ -n "${BACKEND_RT:-}" ]] && rt=(chrt -f 1)
  "${rt[@]}" taskset -c "$2" nginx -c "$1/backend.conf" -p "$1" &
}

# start_proxy TARGET PORT SERVER: one proxy worker/thread pinned to CPU 1 on 127.0.0.1:PORT,
# relaying to SERVER, in the background ($! is its pid); its files go to $W. TARGET: haproxy |
# hap-splice | hap-splice-all | hap-smart | nginx (stream) | ringlb[:BINARY[:RELAY[:SMART_CONNECT[:SMART_ACCEPT
# [:DEFER_ACCEPT]]]]] (default build/ringlb; an empty setting keeps the binary's default).
start_proxy() {
  local target=$1 port=$2 server=$3 kind bin relay smart accept defer
  IFS=: read -r kind bin relay smart accept defer <<< "$target"
  case $kind in
    ringlb)
      ringlb_conf "$port" "$server" relay="$relay" tcp_smart_connect="$smart" tcp_smart_accept="$accept" \
        defer_accept="$defer" > "$W/r.yaml"
      taskset -c 1 "$(readlink -f "${bin:-$root/build/ringlb}")" -c "$W/r.yaml" > "$W/r.log" 2>&1 & ;;
    haproxy|hap-splice|hap-splice-all|hap-smart)
      haproxy_conf "$kind" 1 "$port" "$server" > "$W/h.cfg"
      taskset -c 1 haproxy -f "$W/h.cfg" -db > /dev/null 2>&1 & ;;
    nginx)
      nginx_stream_conf "$W" 1 "$port" "$server" > "$W/s.conf"
      taskset -c 1 nginx -c "$W/s.conf" -p "$W" & ;;
    *) echo "lib.sh: unknown target $target" >&2; return 2 ;;
  esac
}

# wait_port PORT: until 127.0.0.1:PORT accepts a connection (5 s at most; 1 if it never did).
wait_port() {
  local _
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# proc_ticks PID: CPU time (utime + stime, in clock ticks) of a process, all its threads, and its
# children (nginx's and a multi-process proxy's workers).
proc_ticks() {
  local t=0 p
  for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
    if [[ -r /proc/$p/stat ]]; then t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); fi
  done
  echo $t
}

# WRK_AWK_US: an awk function, us(v), turning one of wrk's latencies (12.5us, 3.1ms, 1.2s) into
# microseconds; prepend it to an awk program that parses wrk --latency output.
# shellcheck disable=SC2034  # used by the scripts that source this file
WRK_AWK_US='function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1e6; return v }'
