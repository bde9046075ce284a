// cri-clean stops and removes every pod sandbox of a CRI runtime (what `crictl rmp -af`
// does), so that the runtime runs CNI DEL: pod IPs, port maps and network namespaces are
// released. test/cluster/stop.sh runs it against the test cluster's containerd after the
// kubelet has stopped; test/cluster/start.sh polls it before starting the kubelet (its
// CRI calls fail with "server is not initialized yet" until the CRI plugin serves).
// (crictl itself is not used: its module fails checksum verification through the proxy
// this project's machines use.)
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: cri-clean unix:///path/to/containerd.sock")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := grpc.NewClient(os.Args[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cri-clean:", err)
		os.Exit(1)
	}
	defer conn.Close()
	rs := runtimeapi.NewRuntimeServiceClient(conn)
	list, err := rs.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cri-clean: list pod sandboxes:", err)
		os.Exit(1)
	}
	failed := 0
	for _, p := range list.Items {
		if _, err := rs.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			fmt.Fprintf(os.Stderr, "cri-clean: stop %s: %v\n", p.Id, err)
		}
		if _, err := rs.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			fmt.Fprintf(os.Stderr, "cri-clean: remove %s: %v\n", p.Id, err)
			failed++
		}
	}
	fmt.Printf("cri-clean: removed %d of %d pod sandbox(es)\n", len(list.Items)-failed, len(list.Items))
	if failed > 0 {
		os.Exit(1)
	}
}
