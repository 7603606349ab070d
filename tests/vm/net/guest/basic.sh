# busybox 1.35 (Debian 12) wget segfaults with -T: timeouts come from timeout(1).
# Needs BLOB_URL and BLOB_SHA256 (substituted by the host half).
if ip -4 addr show eth0 2>/dev/null | grep -q 'inet 10.0.2.15/24'; then ok eth0; else bad eth0 "$(ip addr 2>&1)"; fi
if grep -q '^nameserver 10.0.2.3$' /etc/resolv.conf; then ok resolv-conf; else bad resolv-conf "$(cat /etc/resolv.conf)"; fi
if timeout 30 wget -q -O /tmp/blob "$BLOB_URL" 2>/tmp/wget.err; then
  sum=$(sha256sum </tmp/blob | cut -d' ' -f1)
  if [ "$sum" = "$BLOB_SHA256" ]; then ok fetch-10mib; else bad fetch-10mib "sha256 $sum"; fi
else
  bad fetch-10mib "wget exit $?: $(cat /tmp/wget.err)"
fi
rm -f /tmp/blob
# The host connects to the published port, sends one line, reads ours.
got=$(echo hello-from-guest | timeout 120 nc -l -p 8000)
if [ "$got" = ping-from-host ]; then ok published-port; else bad published-port "read '$got'"; fi
