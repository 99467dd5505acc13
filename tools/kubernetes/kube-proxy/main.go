// Command kube-proxy is the upstream kube-proxy, built from the module pinned in go.mod, so Services route on
// the one-node test cluster (the `kubernetes` Service reaches the API server, as on any cluster).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-proxy/app"
)

func main() {
	os.Exit(cli.Run(app.NewProxyCommand()))
}
