package testpg

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// envPooler set to "pgbouncer" puts a PgBouncer in transaction mode in front
// of the throwaway cluster: NewDatabase then returns URLs through it, the
// way production reaches Neon through its pooled endpoint, while databases
// are still created and dropped directly. AdminURL stays direct.
const envPooler = "TEST_DATABASE_POOLER"

var lookPath = exec.LookPath

// pgbouncer is a running PgBouncer, our child.
type pgbouncer struct {
	proc    *os.Process
	exited  chan struct{}
	port    int
	logPath string
}

// startPooler starts PgBouncer when TEST_DATABASE_POOLER asks for it.
func (s *server) startPooler() error {
	switch v := os.Getenv(envPooler); v {
	case "", "0", "none":
		return nil
	case "pgbouncer":
	default:
		return fmt.Errorf("%s=%q: the only pooler supported is pgbouncer", envPooler, v)
	}
	if s.dir == "" {
		return fmt.Errorf("%s needs the throwaway cluster (trust authentication); unset %s", envPooler, envURL)
	}
	bin := findPgBouncer()
	if bin == "" {
		return errNoPgBouncer
	}
	var err error
	for attempt := 1; ; attempt++ {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		if s.pooler, err = s.runPgBouncer(bin, port); err == nil {
			return nil
		}
		if attempt == 5 {
			return err
		}
	}
}

func (s *server) runPgBouncer(bin string, port int) (*pgbouncer, error) {
	userlist := filepath.Join(s.dir, "userlist.txt")
	ini := filepath.Join(s.dir, "pgbouncer.ini")
	p := &pgbouncer{port: port, logPath: filepath.Join(s.dir, "pgbouncer.log")}
	// Transaction pooling, as on Neon: a client holds a server connection
	// only for the length of a transaction, so session state (named
	// prepared statements, session advisory locks, SET) does not survive
	// between transactions. "*" forwards every database name to the
	// cluster, so databases created after start-up need no reload.
	conf := fmt.Sprintf(`[databases]
* = host=127.0.0.1 port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
server_idle_timeout = 30
ignore_startup_parameters = extra_float_digits
logfile = %s
pidfile =
admin_users = postgres
`, s.port, port, userlist, p.logPath)
	for name, body := range map[string]string{ini: conf, userlist: `"postgres" ""` + "\n"} {
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			return nil, err
		}
		if s.cred != nil {
			if err := os.Chown(name, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	cmd := s.command(bin, ini) // PgBouncer refuses to run as root, like postgres
	out, err := os.OpenFile(filepath.Join(s.dir, "pgbouncer.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	// SIGTERM is PgBouncer's immediate shutdown.
	if p.proc, p.exited, err = runChild(cmd, syscall.SIGTERM); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-p.exited:
			b, _ := os.ReadFile(filepath.Join(s.dir, "pgbouncer.out"))
			l, _ := os.ReadFile(p.logPath)
			return nil, fmt.Errorf("pgbouncer exited during start-up:\n%s%s", tail(b), tail(l))
		default:
		}
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			c.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("pgbouncer not accepting connections after %v", startTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends PgBouncer and waits for it; nil-safe.
func (p *pgbouncer) stop() {
	if p == nil || p.proc == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.proc.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.proc.Kill()
		<-p.exited
	}
}
