// Package testpg gives integration tests a real PostgreSQL database each,
// without Docker and without adding a Go driver to the module.
//
// A test binary either borrows an existing server named by TEST_DATABASE_URL,
// or starts one throwaway cluster of its own from the PostgreSQL binaries
// installed on the machine. Every test then gets a brand-new database on
// that server, so tests can run in parallel and never see each other's rows.
//
// Typical use:
//
//	func TestMain(m *testing.M) { os.Exit(testpg.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		dsn := testpg.NewDatabase(t)
//		...
//	}
//
// A test that stops and starts the server (an outage) takes a cluster of its
// own with NewCluster. With TEST_DATABASE_POOLER=pgbouncer the throwaway
// cluster gets a PgBouncer in transaction mode in front, and NewDatabase
// URLs lead through it, as production reaches Neon's pooled endpoint.
package testpg

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	// envURL names an existing server to use instead of starting one; it must
	// be an admin URL allowed to CREATE DATABASE.
	envURL = "TEST_DATABASE_URL"
	// envRequire turns "PostgreSQL not found" from a skip into a failure, so
	// that CI cannot go green by silently skipping every database test.
	envRequire = "REQUIRE_POSTGRES"

	// dirPrefix marks our temp dirs so a later run can find and remove the
	// ones left behind by binaries that died without running their cleanup.
	dirPrefix = "testpg-"

	startTimeout = 60 * time.Second
	psqlTimeout  = 60 * time.Second
)

// errUnavailable means neither a server URL nor server binaries were found:
// a reason to skip, unlike a server that exists but misbehaves.
var errUnavailable = errors.New("PostgreSQL not found: set " + envURL + " or install postgresql; skipping")

// server is the PostgreSQL server shared by all tests of one binary.
type server struct {
	adminURL string
	psql     string

	// The rest is set only for a cluster this package started itself.
	dir     string              // temp dir holding everything below
	dataDir string              // PGDATA
	logPath string              // postgres' stderr, shown when it fails to start
	binDir  string              // where initdb, pg_ctl and postgres live
	cred    *syscall.Credential // who runs the server binaries; nil means us
	lock    *os.File            // flock held for our lifetime, see sweepStale
	proc    *os.Process         // the postmaster, our direct child
	exited  chan struct{}       // closed once the postmaster has been reaped
	port    int                 // where the postmaster listens, kept across restarts
	sockDir string              // its unix socket directory

	// pooler is the PgBouncer in front of the cluster when
	// TEST_DATABASE_POOLER asks for one; NewDatabase URLs then go through it.
	pooler *pgbouncer
}

var (
	setupOnce sync.Once
	shared    *server
	setupErr  error

	stopMu  sync.Mutex
	stopped bool

	dbSeq atomic.Int64
)

// NewDatabase creates an empty database that only the calling test uses and
// returns its postgres:// URL. The database is dropped when the test ends,
// even if connections to it are still open, so tests need not close their
// pools in any particular order. It is safe to call from parallel tests.
//
// Without a server it skips the test, or fails it when REQUIRE_POSTGRES is
// set, so that a missing database is visible rather than a silent pass.
func NewDatabase(t testing.TB) string {
	t.Helper()
	s := get(t)

	name := dbName(t.Name())
	// template0 rather than the default template1: nobody can be connected to
	// it, so concurrent CREATE DATABASE calls cannot fail with "source
	// database is being accessed by other users", and it is guaranteed empty
	// even on a shared server whose template1 has been customised.
	if _, err := s.exec("CREATE DATABASE " + quoteIdent(name) + " TEMPLATE template0"); err != nil {
		t.Fatalf("testpg: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// FORCE (PostgreSQL 13+) ends sessions a test left open; otherwise
		// a single leaked connection would make the drop fail.
		if _, err := s.exec("DROP DATABASE IF EXISTS " + quoteIdent(name) + " WITH (FORCE)"); err != nil {
			t.Errorf("testpg: drop database %s: %v", name, err)
		}
	})

	u, err := url.Parse(s.adminURL)
	if err != nil { // validated in setup; cannot happen
		t.Fatalf("testpg: %v", err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	if s.pooler != nil {
		// The database is created and dropped directly (PgBouncer
		// cannot run CREATE DATABASE for its own pools), but used
		// through the pooler, as the service uses Neon's pooled host.
		u.Host = fmt.Sprintf("127.0.0.1:%d", s.pooler.port)
	}
	return u.String()
}

// AdminURL returns the URL of a superuser-capable connection to the server in
// use, for tests that need to look at or manage the server itself rather
// than one database (for example to check that a database was dropped).
func AdminURL(t testing.TB) string {
	t.Helper()
	return get(t).adminURL
}

// DirectURL is dsn, a URL NewDatabase returned, on the server itself rather
// than through PgBouncer when the tests run with one: for what a
// transaction-mode pooler cannot carry (LISTEN, pgx's statement cache).
func DirectURL(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := url.Parse(AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Host = admin.Host
	return u.String()
}

// Run runs the tests and then stops the cluster this binary started, if any,
// returning the exit code for os.Exit. Cleanup lives here rather than in a
// test's Cleanup because the cluster is shared by all tests of the binary.
func Run(m *testing.M) int {
	code := m.Run()
	stop()
	return code
}

// get returns the shared server, starting it on first use, or ends the test.
func get(t testing.TB) *server {
	t.Helper()
	setupOnce.Do(func() { shared, setupErr = setup() })
	if setupErr == nil {
		return shared
	}
	if errors.Is(setupErr, errUnavailable) {
		if v := os.Getenv(envRequire); v != "" && v != "0" {
			t.Fatalf("testpg: PostgreSQL is required (%s=%s) but was not found: "+
				"set %s to an admin URL of a server that can CREATE DATABASE, "+
				"or install PostgreSQL (initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin)",
				envRequire, v, envURL)
		}
		t.Skipf("testpg: %v", setupErr)
	}
	t.Fatalf("testpg: %v", setupErr)
	return nil
}

func setup() (*server, error) {
	if raw := os.Getenv(envURL); raw != "" {
		return useExisting(raw)
	}
	binDir := findBinDir()
	if binDir == "" {
		return nil, errUnavailable
	}
	s, err := startCluster(binDir)
	if err != nil {
		return nil, err
	}
	catchSignals()
	if err := s.startPooler(); err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}

func useExisting(raw string) (*server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL (key=value connection strings are not supported)", envURL)
	}
	psql := findPSQL("")
	if psql == "" {
		return nil, fmt.Errorf("%s is set but no psql binary was found (install postgresql-client); "+
			"testpg uses psql to create and drop databases", envURL)
	}
	s := &server{adminURL: raw, psql: psql}
	if _, err := s.exec("SELECT 1"); err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %v", envURL, err)
	}
	return s, nil
}

// findBinDir returns the directory holding initdb, pg_ctl and postgres, or "".
// PATH wins so that a developer can pick a version; otherwise the highest
// Debian/Ubuntu-style /usr/lib/postgresql/N/bin, which is not on PATH there.
func findBinDir() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		// Resolve symlinks so pg_ctl and postgres come from the same
		// installation as initdb, as initdb itself expects.
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dir := filepath.Dir(p)
		if isExecutable(filepath.Join(dir, "pg_ctl")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir
		}
	}
	for _, dir := range debianBinDirs() {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) &&
			isExecutable(filepath.Join(dir, "postgres")) {
			return dir
		}
	}
	return ""
}

// findPSQL prefers the psql shipped with the server binaries: on Debian the
// one on PATH is a Perl wrapper that may pick another version.
func findPSQL(binDir string) string {
	if binDir != "" && isExecutable(filepath.Join(binDir, "psql")) {
		return filepath.Join(binDir, "psql")
	}
	if p, err := exec.LookPath("psql"); err == nil {
		return p
	}
	for _, dir := range debianBinDirs() {
		if isExecutable(filepath.Join(dir, "psql")) {
			return filepath.Join(dir, "psql")
		}
	}
	return ""
}

// debianBinDirs lists /usr/lib/postgresql/*/bin, highest version first.
func debianBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) []int {
		var v []int
		for _, part := range strings.Split(filepath.Base(filepath.Dir(dir)), ".") {
			n, _ := strconv.Atoi(part)
			v = append(v, n)
		}
		return v
	}
	sort.Slice(dirs, func(i, j int) bool {
		a, b := version(dirs[i]), version(dirs[j])
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] > b[k]
			}
		}
		return len(a) > len(b)
	})
	return dirs
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func startCluster(binDir string) (_ *server, err error) {
	psql := findPSQL(binDir)
	if psql == "" {
		return nil, fmt.Errorf("found PostgreSQL server binaries in %s but no psql; "+
			"install the PostgreSQL client (postgresql-client), which testpg uses to create and drop databases", binDir)
	}

	s := &server{psql: psql, binDir: binDir}
	base := os.TempDir()
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root, so they run as the
		// postgres system user, which must be able to reach the data dir:
		// TMPDIR may point into a root-only directory, /tmp never does.
		base = "/tmp"
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and initdb refuses to run as root, "+
				"but there is no 'postgres' system user to run it as (%v); "+
				"create one (useradd --system postgres) or run the tests as a normal user", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		// An empty Groups list drops root's supplementary groups.
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}

	sweepStale(base, s.cred)

	if s.dir, err = os.MkdirTemp(base, dirPrefix); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.shutdown()
		}
	}()
	// Taken before anything else so a concurrent sweepStale in another
	// binary never mistakes this directory for an abandoned one. The file
	// only gets the name sweepers look for once it is locked, or a sweeper
	// could lock it between our create and our flock and delete the dir.
	if s.lock, err = os.OpenFile(filepath.Join(s.dir, "lock.new"), os.O_CREATE|os.O_RDWR, 0o600); err != nil {
		return nil, err
	}
	if err = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, fmt.Errorf("lock %s: %v", s.dir, err)
	}
	if err = os.Rename(filepath.Join(s.dir, "lock.new"), filepath.Join(s.dir, "lock")); err != nil {
		return nil, err
	}

	s.dataDir = filepath.Join(s.dir, "data")
	sockDir := filepath.Join(s.dir, "sock")
	s.logPath = filepath.Join(s.dir, "postgres.log")
	if err = os.Mkdir(sockDir, 0o700); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own copy of the descriptor
	if s.cred != nil {
		for _, p := range []string{s.dir, sockDir, s.logPath} {
			if err = os.Chown(p, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				return nil, err
			}
		}
	}

	// Trust auth and a fixed superuser name make the URL password-free.
	// The C locale keeps sorting identical on every machine.
	initdb := s.command(filepath.Join(binDir, "initdb"),
		"-D", s.dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb failed: %v\n%s", err, tail(out))
	}

	// The free port is found by binding and releasing it, so another process
	// can take it before postgres binds; a few retries cover that race.
	for attempt := 1; ; attempt++ {
		var port int
		if port, err = freePort(); err != nil {
			return nil, err
		}
		if err = s.startPostgres(port, sockDir, logFile); err == nil {
			break
		}
		if attempt == 5 || !strings.Contains(s.logTail(), "could not bind") {
			return nil, fmt.Errorf("PostgreSQL failed to start: %v\nserver log (tail):\n%s", err, s.logTail())
		}
	}
	return s, nil
}

// startPostgres runs postgres directly instead of "pg_ctl start": as our
// child it can be told to die with us (Pdeathsig), which pg_ctl's detached
// daemon cannot. That matters because a test timeout or panic exits the
// binary without running Run's cleanup.
func (s *server) startPostgres(port int, sockDir string, logFile *os.File) error {
	cmd := s.command(filepath.Join(s.binDir, "postgres"),
		"-D", s.dataDir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+sockDir,
		"-c", "max_connections=200",
		// Durability is worthless for a database deleted after the run.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "logging_collector=off",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// SIGQUIT is postgres' immediate shutdown: it also stops the backends.
	proc, exited, err := runChild(cmd, syscall.SIGQUIT)
	if err != nil {
		return err
	}
	s.proc, s.exited = proc, exited
	s.port, s.sockDir = port, sockDir
	s.adminURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			return errors.New("postgres exited during startup")
		default:
		}
		if _, err := s.exec("SELECT 1"); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("not ready after %v: %v", startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runChild starts cmd as our child, to be sent deathSig when this process
// dies (even by a test timeout or panic, which skip every cleanup), and
// returns a channel closed once the child has been reaped.
func runChild(cmd *exec.Cmd, deathSig syscall.Signal) (*os.Process, chan struct{}, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = deathSig
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// Pdeathsig fires when the forking OS thread exits, not the
		// process, so keep this thread alive for as long as the child.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return nil, nil, err
	}
	return cmd.Process, exited, nil
}

// command prepares a server-side binary to run as the user owning the
// cluster, from a directory that user can enter (root's home is not one).
func (s *server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return cmd
}

// exec runs one SQL statement through psql and returns its unaligned output.
// psql stands in for a Go driver so this package adds no module dependency.
func (s *server) exec(sql string) (string, error) {
	return runPSQL(s.psql, s.adminURL, sql)
}

func runPSQL(psql, dsn, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), psqlTimeout)
	defer cancel()
	// -X ignores ~/.psqlrc, which could change the output or behaviour.
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("psql %q: %v: %s", sql, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// kill stops the postmaster at once and waits until it is gone, so that its
// directory can be removed. Data loss is irrelevant for a throwaway cluster.
func (s *server) kill() {
	if s.proc == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	stopCmd := s.command(filepath.Join(s.binDir, "pg_ctl"), "stop", "-D", s.dataDir, "-m", "immediate", "-w", "-t", "10")
	if err := stopCmd.Run(); err != nil {
		_ = s.proc.Signal(syscall.SIGQUIT)
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.proc.Kill()
		<-s.exited
	}
}

// shutdown stops the cluster (if running) and removes its directory.
func (s *server) shutdown() {
	if s.dir == "" {
		return
	}
	s.pooler.stop()
	s.kill()
	if s.lock != nil {
		s.lock.Close()
	}
	_ = os.RemoveAll(s.dir)
}

// stop shuts the shared cluster down once, whichever of Run or a signal
// gets there first.
func stop() {
	stopMu.Lock()
	defer stopMu.Unlock()
	if stopped {
		return
	}
	stopped = true
	if shared != nil {
		shared.shutdown()
	}
}

// catchSignals stops the cluster on Ctrl-C or a kill before the binary dies,
// then lets the signal take its usual effect.
func catchSignals() {
	ch := make(chan os.Signal, 1)
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM} {
		// A binary started with a signal ignored (nohup, a background job
		// of a script) must keep ignoring it rather than die of it here.
		if !signal.Ignored(sig) {
			signal.Notify(ch, sig)
		}
	}
	go func() {
		sig := <-ch
		// setupOnce may still be running (the signal arrived between
		// starting the cluster and returning it); wait for it so that
		// shared is set and stop sees the cluster.
		setupOnce.Do(func() {})
		stop()
		signal.Reset(sig)
		_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		time.Sleep(time.Second)
		os.Exit(1)
	}()
}

// sweepStale removes clusters left in base by earlier binaries that were
// killed, panicked or timed out before Run could clean up. An owner holds
// the flock on its dir's lock file for as long as it lives, so a lock we can
// take means the owner is gone. Errors are ignored: this is housekeeping.
func sweepStale(base string, cred *syscall.Credential) {
	dirs, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
	for _, dir := range dirs {
		f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR, 0)
		if err != nil {
			continue // not ours, not readable, or being created right now
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // a live binary owns it
			continue
		}
		// Pdeathsig should have stopped its postgres already; make sure,
		// since the postmaster outlives a deleted data dir.
		if ctl := findPgCtlFor(dir); ctl != "" {
			old := &server{dir: dir, cred: cred}
			_ = old.command(ctl, "stop", "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "-t", "10").Run()
		}
		_ = os.RemoveAll(dir)
		f.Close()
	}
}

// findPgCtlFor returns a pg_ctl able to stop the cluster in dir, if it is
// still running.
func findPgCtlFor(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); err != nil {
		return ""
	}
	if binDir := findBinDir(); binDir != "" {
		return filepath.Join(binDir, "pg_ctl")
	}
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	return tail(b)
}

// tail keeps the end of a log, where the reason for a failure is.
func tail(b []byte) string {
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// dbName makes a database name unique across parallel tests, test binaries
// and machines sharing one TEST_DATABASE_URL server, while still hinting at
// the test that created it when someone lists leftover databases.
func dbName(testName string) string {
	var slug strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			slug.WriteRune(r)
		default:
			slug.WriteByte('_')
		}
		if slug.Len() >= 30 {
			break
		}
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	// At most 5+30+1+8+1+19 bytes < 63, PostgreSQL's identifier limit.
	return fmt.Sprintf("test_%s_%s_%d", slug.String(), hex.EncodeToString(rnd[:]), dbSeq.Add(1))
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
