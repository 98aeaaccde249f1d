// Command latproxy puts the latency proxy of package latproxy in front of
// an FTP server on loopback: its control port and its passive ports, one to
// one, so that every client goes through it whatever it does with the PASV
// address. ftpbench runs the same proxy in-process for its WAN cases; this
// command is for trying a client by hand and for traces.
//
//	cd bench && go run ./cmd/latproxy -instance vsftpd-wan -rtt 20ms -trace
//	curl ftp://ftpuser:ftppass@127.0.0.3:2126/   # in another shell
//
// -instance reads the addresses from the interop servers' servers.env
// (<SERVER>_WAN_ADDR, _PASV_PORTS, _PROXY_ADDR); -control, -pasv, -listen
// and -target give them by hand. Every address must be a loopback one.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pasvport/ftp/bench/latproxy"
)

func main() {
	rtt := flag.Duration("rtt", 20*time.Millisecond, "round-trip time: each direction is delayed by half of it")
	handshake := flag.Bool("handshake", true, "the server gets the connection 1.5 RTT after the client made it, as over a real link (the client's connect still returns at once)")
	rate := flag.Int64("rate", 0, "cap each connection at this many bytes/s in each direction (0: none)")
	instance := flag.String("instance", "", "interop instance (e.g. vsftpd-wan): addresses from servers.env")
	listen := flag.String("listen", "127.0.0.3", "address the proxy listens on")
	target := flag.String("target", "127.0.0.1", "address of the server")
	control := flag.Int("control", 0, "control port (the same on both sides)")
	pasv := flag.String("pasv", "", "passive port range LO-HI, proxied one to one")
	trace := flag.Bool("trace", false, "print every control line and data connection event with its times")
	dur := flag.Duration("for", 0, "stop after this long (0: at SIGINT or SIGTERM)")
	flag.Parse()
	if *instance != "" {
		if err := fromEnv(*instance, listen, target, control, pasv); err != nil {
			fatal(err)
		}
	}
	if *control == 0 {
		fatal(fmt.Errorf("need -instance or -control"))
	}
	for _, h := range []string{*listen, *target} {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			fatal(fmt.Errorf("%q is not a loopback address", h))
		}
	}
	cfg := latproxy.Config{Delay: *rtt / 2, Rate: *rate}
	if *handshake {
		cfg.ConnectDelay = 3 * cfg.Delay
	}
	if *trace {
		var origin time.Time
		cfg.Trace = func(e latproxy.Event) {
			if origin.IsZero() {
				origin = e.Sent
			}
			s := latproxy.FormatTrace([]latproxy.Event{e}, origin, *rtt)
			_, row, _ := strings.Cut(s, "\n")
			fmt.Print(row)
		}
	}
	p := latproxy.New(cfg)
	defer p.Close()
	ports := []int{*control}
	if *pasv != "" {
		lo, hi, err := portRange(*pasv)
		if err != nil {
			fatal(err)
		}
		for port := lo; port <= hi; port++ {
			ports = append(ports, port)
		}
	}
	for i, port := range ports {
		ps := strconv.Itoa(port)
		if _, err := p.Listen(net.JoinHostPort(*listen, ps), net.JoinHostPort(*target, ps), i == 0); err != nil {
			fatal(err)
		}
	}
	fmt.Fprintf(os.Stderr, "latproxy: %s:%d → %s:%d (and %d passive ports), RTT %v, handshake %v, rate %d B/s\n",
		*listen, *control, *target, *control, len(ports)-1, *rtt, *handshake, *rate)
	if *trace {
		fmt.Printf("%10s %7s %10s %6s %4s  %s\n", "client ms", "RTT", "server ms", "conn", "dir", "event")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	var stop <-chan time.Time
	if *dur > 0 {
		stop = time.After(*dur)
	}
	select {
	case <-sig:
	case <-stop:
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "latproxy:", err)
	os.Exit(1)
}

func portRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi < lo || hi > 65535 || hi-lo > 1000 {
		return 0, 0, fmt.Errorf("bad port range %q", s)
	}
	return lo, hi, nil
}

// fromEnv reads an instance's addresses from servers.env.
func fromEnv(inst string, listen, target *string, control *int, pasv *string) error {
	run := os.Getenv("INTEROP_RUN")
	if run == "" {
		run = "/tmp/pasvport-interop"
	}
	f, err := os.Open(filepath.Join(run, "servers.env"))
	if err != nil {
		return err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = strings.Trim(v, `"`)
		}
	}
	key := strings.ToUpper(strings.ReplaceAll(inst, "-", "_"))
	addr, proxy := env[key+"_ADDR"], env[key+"_PROXY_ADDR"]
	if addr == "" {
		return fmt.Errorf("%s is not running (no %s_ADDR in servers.env)", inst, key)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	*target = host
	if *control, err = strconv.Atoi(port); err != nil {
		return err
	}
	if proxy != "" {
		if *listen, _, err = net.SplitHostPort(proxy); err != nil {
			return err
		}
	}
	*pasv = env[key+"_PASV_PORTS"]
	return sc.Err()
}
