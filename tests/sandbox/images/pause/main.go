// pause: the infrastructure ("sandbox") container of every pod on the sandbox's real node.
//
// It holds the pod's namespaces open and does nothing else: it sleeps until SIGINT or SIGTERM and then exits 0.
// As PID 1 of a pod that shares its process namespace it also reaps orphaned children, like the upstream pause.
// Built by tests/sandbox/build.sh as a static binary, so the image needs no libc.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println("aiconf-sandbox pause")
		return
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	child := make(chan os.Signal, 16)
	signal.Notify(child, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			os.Exit(0)
		case <-child:
			for {
				var status syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}
