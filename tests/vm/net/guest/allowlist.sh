# sandbox.network.allow_domains: [allowed.test]; the host's DNS server maps
# allowed.test to 203.0.113.10 (a local route on the host side) and knows
# no other name.
r=$(nslookup allowed.test 2>&1)
case $r in *203.0.113.10*) ok dns-allowed ;; *) bad dns-allowed "$r" ;; esac
# A query sent straight to another server is answered by the policy resolver.
r=$(nslookup allowed.test 192.0.2.53 2>&1)
case $r in *203.0.113.10*) ok dns-other-server ;; *) bad dns-other-server "$r" ;; esac
r=$(nslookup other.test 2>&1)
case $r in *NXDOMAIN*) ok dns-not-allowed ;; *) bad dns-not-allowed "$r" ;; esac
r=$(nslookup other.test 192.0.2.53 2>&1)
case $r in *NXDOMAIN*) ok dns-not-allowed-other-server ;; *) bad dns-not-allowed-other-server "$r" ;; esac
body=$(timeout 20 wget -q -O - http://allowed.test:8080/ping.txt 2>/tmp/wget.err || echo "wget exit $?: $(cat /tmp/wget.err)")
if [ "$body" = pong ]; then ok connect-allowed; else bad connect-allowed "$body"; fi
refused direct-ip 198.51.100.20 8080
refused metadata 169.254.169.254 80
