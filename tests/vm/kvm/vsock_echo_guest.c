/*
 * Guest side of the KVM backend's vsock VM test: listens on vsock port 5000,
 * accepts one connection and echoes everything back until the host closes its
 * sending side. Prints markers on stdout (the console) for the test.
 */
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  int listener = socket(AF_VSOCK, SOCK_STREAM, 0);
  if (listener < 0) {
    perror("VBTEST-VSOCK-FAIL socket");
    return 1;
  }
  struct sockaddr_vm addr;
  memset(&addr, 0, sizeof addr);
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = 5000;
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 1) != 0) {
    perror("VBTEST-VSOCK-FAIL bind/listen");
    return 1;
  }
  printf("VBTEST-VSOCK-LISTENING\n");
  fflush(stdout);
  int conn = accept(listener, NULL, NULL);
  if (conn < 0) {
    perror("VBTEST-VSOCK-FAIL accept");
    return 1;
  }
  static char buf[65536];
  unsigned long long total = 0;
  for (;;) {
    ssize_t n = read(conn, buf, sizeof buf);
    if (n < 0) {
      perror("VBTEST-VSOCK-FAIL read");
      return 1;
    }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(conn, buf + off, (size_t)(n - off));
      if (w <= 0) {
        perror("VBTEST-VSOCK-FAIL write");
        return 1;
      }
      off += w;
    }
    total += (unsigned long long)n;
  }
  shutdown(conn, SHUT_WR);
  /* Wait for the host to close, so the echo's tail is not cut by power-off. */
  while (read(conn, buf, sizeof buf) > 0) {
  }
  close(conn);
  printf("VBTEST-VSOCK-OK bytes=%llu\n", total);
  fflush(stdout);
  return 0;
}
