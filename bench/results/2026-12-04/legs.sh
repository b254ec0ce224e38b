#!/usr/bin/env bash
# Throwaway (2026-12-04): data segments per 1 MB response on each leg and pure ACKs, through
# one proxy (a bench/lib.sh start_proxy target: ringlb, hap-splice-all, ...), from 2 s of
# tcpdump on loopback.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd); source "$root/bench/lib.sh"
bench_workdir
BE=19091; PX=18093
head -c 1048576 /dev/urandom > "$W/1m.bin"
backend_conf "$W" 1 "127.0.0.1:$BE" > "$W/backend.conf"
start_backend "$W" 0
sleep 1
start_proxy "$1" $PX "127.0.0.1:$BE"
wait_port $PX
timeout 6 tcpdump -i lo -nn -q -w "$W/cap.pcap" -s 80 "tcp and (port $PX or port $BE)" 2>/dev/null &
td=$!
sleep 1
out=$(taskset -c 0 wrk -t1 -c8 -d2s "http://127.0.0.1:$PX/1m")
wait $td || true
req=$(echo "$out" | awk '/requests in/{print $1}')
tcpdump -r "$W/cap.pcap" -nn 2>/dev/null > "$W/cap.txt"
awk -v px=$PX -v be=$BE -v req=$req '
 { src=$3; dst=$5; sub(/:$/,"",dst); len=0; for(i=1;i<=NF;i++) if($i=="length"){len=$(i+1)+0}
   split(src,a,"."); sp=a[5]; split(dst,b,"."); dp=b[5];
   if (len>0) { if (sp==be) bp++; else if (sp==px) pc++; } else { if (dp==px) ca++; else if (dp==be) pb++ } }
 END { printf "req=%d backend->proxy data %.1f, proxy->client data %.1f, acks proxy->backend %.1f, client->proxy %.1f per response\n", req, bp/req, pc/req, pb/req, ca/req }' "$W/cap.txt"
