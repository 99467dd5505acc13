// Command kubelet is the upstream kubelet, built from the module pinned in go.mod, for the one-node
// test cluster (its command takes a context: a nil one panics).
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	os.Exit(cli.Run(app.NewKubeletCommand(context.Background())))
}
