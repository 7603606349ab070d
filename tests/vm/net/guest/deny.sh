# No allow_domains; deny_cidrs: [198.51.100.0/24]; max_concurrent_connections
# 8, max_connections_per_second 10. 203.0.113.10:8080 is the host's server.
body=$(timeout 20 wget -q -O - http://203.0.113.10:8080/ping.txt 2>/tmp/wget.err || echo "wget exit $?: $(cat /tmp/wget.err)")
if [ "$body" = pong ]; then ok open-public; else bad open-public "$body"; fi
refused deny-cidr 198.51.100.20 8080
refused metadata 169.254.169.254 80
refused private 192.168.1.1 80
sleep 2
# Concurrency: 12 connections held open for 6 s, opened 5 a second (under the
# rate limit): those past 8 are refused.
i=0
while [ $i -lt 12 ]; do
  (sleep 6 | nc -w 5 203.0.113.10 8080 >/dev/null 2>&1; echo $? >/tmp/held.$i) &
  i=$((i + 1))
  sleep 0.2
done
wait
held_refused=$(cat /tmp/held.* | grep -vc '^0$')
held_ok=$(cat /tmp/held.* | grep -c '^0$')
echo "held: $held_ok connected, $held_refused refused"
if [ "$held_refused" -ge 1 ] && [ "$held_ok" -ge 4 ]; then ok concurrency-limit; else bad concurrency-limit "$held_ok connected, $held_refused refused"; fi
sleep 2
# Rate: 40 short connections at once.
i=0
while [ $i -lt 40 ]; do
  (nc -w 5 203.0.113.10 8080 </dev/null >/dev/null 2>&1; echo $? >/tmp/burst.$i) &
  i=$((i + 1))
done
wait
burst_refused=$(cat /tmp/burst.* | grep -vc '^0$')
echo "burst: $burst_refused of 40 refused"
if [ "$burst_refused" -ge 1 ]; then ok rate-limit; else bad rate-limit "none of 40 refused"; fi
sleep 3
# The VMM is still fine.
body=$(timeout 20 wget -q -O - http://203.0.113.10:8080/ping.txt 2>/tmp/wget.err || echo "wget exit $?: $(cat /tmp/wget.err)")
if [ "$body" = pong ]; then ok after-flood; else bad after-flood "$body"; fi
