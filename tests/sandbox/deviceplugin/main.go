// deviceplugin: a test device plugin for the sandbox's real node (tests/sandbox/realnode.py).
//
// It registers an extended resource (default nvidia.com/gpu) with the real kubelet through the device plugin
// API (v1beta1: Registration on kubelet.sock, then ListAndWatch and Allocate on its own socket), with N fake
// devices. The devices are simulated; everything between the kubelet and the container is real: the kubelet
// calls Allocate for every container that requests the resource, and containerd and runc create what the
// answer says in the container.
//
// Allocate gives each container the devices the kubelet allocated to it, and nothing else:
//
//   - the variable NVIDIA_VISIBLE_DEVICES=<id>,<id>... (what NVIDIA's plugin sets), and
//   - one device node per device, /dev/nvidia<N> in the container. On the host it is a character device that
//     this program creates under -dev-dir with the numbers of /dev/null (1:3), so reading or writing it is
//     harmless; runc creates the same node in the container and allows it in the device cgroup.
//
// With -leak every container that requests the resource gets every device (variable and device nodes): the
// broken isolation that the accelerator probe must catch.
//
// The kubelet deletes every plugin socket when it restarts; the plugin then serves and registers again.
// SIGTERM or SIGINT removes the socket and exits 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	api "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

const (
	envName         = "NVIDIA_VISIBLE_DEVICES"
	containerPrefix = "/dev/nvidia" // the probe's device nodes of an NVIDIA GPU: /dev/nvidia<N>
	nullMajor       = 1
	nullMinor       = 3
)

type plugin struct {
	api.UnimplementedDevicePluginServer
	resource string
	ids      []string       // device ids, in index order
	index    map[string]int // id -> N of /dev/nvidia<N>
	devDir   string
	leak     bool
	stop     chan struct{}
}

func (p *plugin) GetDevicePluginOptions(context.Context, *api.Empty) (*api.DevicePluginOptions, error) {
	return &api.DevicePluginOptions{}, nil
}

func (p *plugin) ListAndWatch(_ *api.Empty, stream api.DevicePlugin_ListAndWatchServer) error {
	devices := make([]*api.Device, 0, len(p.ids))
	for _, id := range p.ids {
		devices = append(devices, &api.Device{ID: id, Health: api.Healthy})
	}
	if err := stream.Send(&api.ListAndWatchResponse{Devices: devices}); err != nil {
		return err
	}
	log.Printf("ListAndWatch: %d devices, all healthy", len(devices))
	select { // the devices never change
	case <-stream.Context().Done():
	case <-p.stop:
	}
	return nil
}

func (p *plugin) GetPreferredAllocation(context.Context, *api.PreferredAllocationRequest) (*api.PreferredAllocationResponse, error) {
	return &api.PreferredAllocationResponse{}, nil
}

func (p *plugin) PreStartContainer(context.Context, *api.PreStartContainerRequest) (*api.PreStartContainerResponse, error) {
	return &api.PreStartContainerResponse{}, nil
}

func (p *plugin) Allocate(_ context.Context, req *api.AllocateRequest) (*api.AllocateResponse, error) {
	out := &api.AllocateResponse{}
	for _, creq := range req.ContainerRequests {
		ids := append([]string(nil), creq.DevicesIds...)
		for _, id := range ids {
			if _, ok := p.index[id]; !ok {
				return nil, fmt.Errorf("unknown device %q", id)
			}
		}
		if p.leak {
			ids = append([]string(nil), p.ids...)
		}
		sort.Slice(ids, func(i, j int) bool { return p.index[ids[i]] < p.index[ids[j]] })
		resp := &api.ContainerAllocateResponse{Envs: map[string]string{envName: strings.Join(ids, ",")}}
		for _, id := range ids {
			n := p.index[id]
			resp.Devices = append(resp.Devices, &api.DeviceSpec{
				ContainerPath: fmt.Sprintf("%s%d", containerPrefix, n),
				HostPath:      filepath.Join(p.devDir, fmt.Sprintf("nvidia%d", n)),
				Permissions:   "rw",
			})
		}
		log.Printf("Allocate: kubelet allocated %v, container gets %v (leak=%v)", creq.DevicesIds, ids, p.leak)
		out.ContainerResponses = append(out.ContainerResponses, resp)
	}
	return out, nil
}

// makeDevices creates the host's device nodes <dir>/nvidia<N> (character devices 1:3, like /dev/null).
func makeDevices(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		path := filepath.Join(dir, fmt.Sprintf("nvidia%d", i))
		_ = os.Remove(path)
		dev := int((nullMajor << 8) | nullMinor)
		if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, dev); err != nil {
			return fmt.Errorf("mknod %s: %w", path, err)
		}
		if err := os.Chmod(path, 0o666); err != nil { // not subject to the umask
			return err
		}
	}
	return nil
}

// serve listens on the plugin's socket and registers with the kubelet; returns the server to stop.
func serve(p *plugin, pluginDir, socketName string) (*grpc.Server, error) {
	socket := filepath.Join(pluginDir, socketName)
	_ = os.Remove(socket)
	lis, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", socket, err)
	}
	server := grpc.NewServer()
	api.RegisterDevicePluginServer(server, p)
	go func() { _ = server.Serve(lis) }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient("unix://"+filepath.Join(pluginDir, "kubelet.sock"),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		server.Stop()
		return nil, fmt.Errorf("dial kubelet: %w", err)
	}
	defer conn.Close()
	_, err = api.NewRegistrationClient(conn).Register(ctx, &api.RegisterRequest{
		Version:      api.Version,
		Endpoint:     socketName, // relative to the kubelet's device plugin directory
		ResourceName: p.resource,
		Options:      &api.DevicePluginOptions{},
	})
	if err != nil {
		server.Stop()
		return nil, fmt.Errorf("register with the kubelet: %w", err)
	}
	log.Printf("registered %s (%d devices, leak=%v) on %s", p.resource, len(p.ids), p.leak, socket)
	return server, nil
}

func main() {
	resource := flag.String("resource", "nvidia.com/gpu", "extended resource to advertise")
	count := flag.Int("devices", 4, "number of fake devices")
	devDir := flag.String("dev-dir", "", "directory for the host's device nodes (required; created)")
	pluginDir := flag.String("plugin-dir", api.DevicePluginPath, "the kubelet's device plugin directory")
	socketName := flag.String("socket", "aiconf-gpu.sock", "socket name in -plugin-dir")
	leak := flag.Bool("leak", false, "give every container every device (broken isolation)")
	flag.Parse()
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix("deviceplugin ")
	if *devDir == "" || *count < 1 {
		log.Fatal("-dev-dir is required and -devices must be at least 1")
	}
	if err := makeDevices(*devDir, *count); err != nil {
		log.Fatal(err)
	}
	p := &plugin{resource: *resource, index: map[string]int{}, devDir: *devDir, leak: *leak, stop: make(chan struct{})}
	for i := 0; i < *count; i++ {
		id := fmt.Sprintf("aiconf-gpu-%d", i)
		p.ids = append(p.ids, id)
		p.index[id] = i
	}
	socket := filepath.Join(*pluginDir, *socketName)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	var server *grpc.Server
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	for {
		if _, err := os.Stat(socket); server == nil || err != nil {
			// first start, or the kubelet restarted and removed every plugin socket: serve and register again
			if server != nil {
				log.Printf("%s is gone (kubelet restarted?): registering again", socket)
				server.Stop()
				server = nil
			}
			s, err := serve(p, *pluginDir, *socketName)
			if err != nil {
				log.Printf("%v; retrying", err)
			} else {
				server = s
			}
		}
		select {
		case sig := <-signals:
			log.Printf("%v: stopping", sig)
			close(p.stop)
			if server != nil {
				server.Stop()
			}
			_ = os.Remove(socket)
			return
		case <-ticker.C:
		}
	}
}
