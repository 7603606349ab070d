#!/bin/sh
# Run by the test /init after the vsock modules are loaded.
/vbtest-vsock
