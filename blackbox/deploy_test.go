package blackbox_test

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v4"
)

// dockerfile is the Dockerfile as instructions: continuation lines joined,
// comments dropped.
func dockerfile(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	var froms []string
	var healthcheck, user, entrypoint, expose, envPort string
	for _, ins := range dockerfile(t) {
		word, rest, _ := strings.Cut(ins, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			froms = append(froms, rest)
		case "HEALTHCHECK":
			healthcheck = rest
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entrypoint = rest
		case "EXPOSE":
			expose = rest
		case "ENV":
			if m := regexp.MustCompile(`PORT=(\d+)`).FindStringSubmatch(rest); m != nil {
				envPort = m[1]
			}
		}
	}
	if len(froms) < 2 || !strings.Contains(froms[0], " AS build") {
		t.Errorf("want a multi-stage build, stages: %q", froms)
	}
	if last := froms[len(froms)-1]; !strings.Contains(last, "distroless/static") || !strings.HasSuffix(last, ":nonroot") {
		t.Errorf("final image %q is not distroless static nonroot", last)
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q: the image must not run as root", user)
	}
	if !strings.Contains(healthcheck, `"healthcheck"`) || !strings.Contains(healthcheck, "CMD [") {
		t.Errorf("HEALTHCHECK %q should run the binary's healthcheck command (no shell in distroless)", healthcheck)
	}
	if !strings.Contains(entrypoint, "/usr/local/bin/todo-api") {
		t.Errorf("ENTRYPOINT %q", entrypoint)
	}
	if expose == "" || expose != envPort {
		t.Errorf("EXPOSE %q and ENV PORT=%q differ", expose, envPort)
	}
}

// TestDockerBuild builds the binary with the Dockerfile's own RUN line and
// checks what Docker cannot be run here to check: that it is static, knows
// its version, serves, answers its own healthcheck and stops on SIGTERM.
func TestDockerBuild(t *testing.T) {
	bin := dockerBuild(t)
	checkStatic(t, bin)
	if r := runOnce(t, spec{bin: bin, args: []string{"version"}}, 20*time.Second); r.err != nil ||
		!strings.Contains(r.stdout, "v9.8.7-test") || !strings.Contains(r.stdout, "0123abcd") {
		t.Errorf("version: %v %q", r.err, r.stdout)
	}
	checkAsContainer(t, bin)
}

// dockerBuild runs the Dockerfile's go build line here, with VERSION and
// COMMIT set, and returns the binary it wrote.
func dockerBuild(t *testing.T) string {
	t.Helper()
	var build string
	for _, ins := range dockerfile(t) {
		if strings.HasPrefix(ins, "RUN ") && strings.Contains(ins, "go build") {
			build = strings.TrimPrefix(ins, "RUN ")
		}
	}
	if !strings.HasPrefix(build, "CGO_ENABLED=0 go build ") || !strings.Contains(build, "-o /out/todo-api") {
		t.Fatalf("Dockerfile build line %q: want CGO_ENABLED=0 go build ... -o /out/todo-api", build)
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "-c", strings.Replace(build, "/out/", out+"/", 1))
	cmd.Dir = ".." // the build context: COPY . . puts the module root there
	cmd.Env = append(os.Environ(), "VERSION=v9.8.7-test", "COMMIT=0123abcd")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, b)
	}
	return filepath.Join(out, "todo-api")
}

// checkStatic: no dynamic loader, no shared libraries; distroless static
// has neither.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader; distroless static has none")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
}

// checkAsContainer runs bin as the container does: production, env only,
// metrics and the profiler on their own ports, the healthcheck command
// against it, JSON logs, SIGTERM.
func checkAsContainer(t *testing.T, bin string) {
	t.Helper()
	metricsPort, pprofPort := freePort(t), freePort(t)
	database := "DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "todo.db")
	in := launch(t, spec{bin: bin, env: []string{"APP_ENV=production", database, "METRICS_ADDR=127.0.0.1:" + metricsPort, "PPROF_ADDR=127.0.0.1:" + pprofPort}})
	in.ready()
	check := spec{bin: bin, args: []string{"healthcheck"}, env: []string{"PORT=" + in.port, "APP_ENV=production", database}}
	if r := runOnce(t, check, 20*time.Second); r.err != nil {
		t.Errorf("healthcheck against a live instance: %v %s", r.err, r.output)
	}
	if r := in.do("GET", "/metrics", "", nil); r.err != nil || r.status != 404 {
		t.Errorf("/metrics on the public port with METRICS_ADDR set: %v %d", r.err, r.status)
	}
	r := newClient("http://127.0.0.1:"+metricsPort, 1).do("GET", "/metrics", "", nil)
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, `todo_api_build_info{commit="0123abcd",goversion=`) ||
		!strings.Contains(r.body, `version="v9.8.7-test"} 1`) {
		t.Errorf("/metrics on METRICS_ADDR: %v %d\n%s", r.err, r.status, r.body)
	}
	// The profiler only where PPROF_ADDR says.
	if r := newClient("http://127.0.0.1:"+pprofPort, 1).do("GET", "/debug/pprof/", "", nil); r.err != nil || r.status != 200 ||
		!strings.Contains(r.body, "goroutine") {
		t.Errorf("/debug/pprof/ on PPROF_ADDR: %v %d", r.err, r.status)
	}
	if r := in.do("GET", "/debug/pprof/", "", nil); r.err != nil || r.status != 404 {
		t.Errorf("/debug/pprof/ on the public port: %v %d", r.err, r.status)
	}
	if err := in.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	if r := runOnce(t, check, 20*time.Second); r.err == nil {
		t.Errorf("healthcheck passed with nothing listening: %s", r.output)
	}

	// Logs are JSON lines when not on a terminal.
	for _, line := range strings.Split(strings.TrimSpace(in.out.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
	}
}

func TestLogFormatText(t *testing.T) {
	in := start(t, "LOG_FORMAT=text")
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=request method=GET route=/readyz status=200 `).MatchString(in.out.String()) {
		t.Errorf("no text access line:\n%s", in.out.String())
	}
}

func TestFlyToml(t *testing.T) {
	var fly struct {
		App         string            `toml:"app"`
		KillSignal  string            `toml:"kill_signal"`
		KillTimeout string            `toml:"kill_timeout"`
		Build       map[string]string `toml:"build"`
		Env         map[string]string `toml:"env"`
		HTTPService struct {
			InternalPort int  `toml:"internal_port"`
			ForceHTTPS   bool `toml:"force_https"`
			Concurrency  struct {
				Type      string `toml:"type"`
				SoftLimit int    `toml:"soft_limit"`
				HardLimit int    `toml:"hard_limit"`
			} `toml:"concurrency"`
			Checks []struct {
				Method string `toml:"method"`
				Path   string `toml:"path"`
			} `toml:"checks"`
		} `toml:"http_service"`
		Metrics struct {
			Port int    `toml:"port"`
			Path string `toml:"path"`
		} `toml:"metrics"`
	}
	md, err := toml.DecodeFile("../fly.toml", &fly)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Logf("fields not checked: %v", u)
	}
	kill, err := time.ParseDuration(fly.KillTimeout)
	if err != nil {
		t.Fatalf("kill_timeout %q: %v", fly.KillTimeout, err)
	}
	shutdown, err := time.ParseDuration(fly.Env["SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("env SHUTDOWN_TIMEOUT %q: %v", fly.Env["SHUTDOWN_TIMEOUT"], err)
	}
	switch {
	case fly.App == "":
		t.Error("no app name")
	case fly.KillSignal != "SIGTERM":
		t.Errorf("kill_signal %q", fly.KillSignal)
	case kill <= shutdown:
		t.Errorf("kill_timeout %v must exceed SHUTDOWN_TIMEOUT %v, or Fly kills in-flight requests", kill, shutdown)
	case fly.Build["dockerfile"] != "Dockerfile":
		t.Errorf("build %v", fly.Build)
	case fly.Env["PORT"] != strconv.Itoa(fly.HTTPService.InternalPort):
		t.Errorf("internal_port %d but PORT=%q", fly.HTTPService.InternalPort, fly.Env["PORT"])
	case fly.Env["APP_ENV"] != "production" || fly.Env["PROXY_HEADER"] != "Fly-Client-IP":
		t.Errorf("env %v", fly.Env)
	case !fly.HTTPService.ForceHTTPS:
		t.Error("force_https is off")
	case fly.HTTPService.Concurrency.SoftLimit <= 0 || fly.HTTPService.Concurrency.SoftLimit > fly.HTTPService.Concurrency.HardLimit:
		t.Errorf("concurrency %+v", fly.HTTPService.Concurrency)
	case len(fly.HTTPService.Checks) != 1 || fly.HTTPService.Checks[0].Path != "/healthz" || fly.HTTPService.Checks[0].Method != "GET":
		t.Errorf("checks %+v", fly.HTTPService.Checks)
	case fly.Env["METRICS_ADDR"] != ":"+strconv.Itoa(fly.Metrics.Port) || fly.Metrics.Path != "/metrics":
		t.Errorf("metrics %+v but METRICS_ADDR=%q", fly.Metrics, fly.Env["METRICS_ADDR"])
	}
	for _, secret := range []string{"DATABASE_URL", "DATABASE_MIGRATION_URL", "BETTER_AUTH_SECRET"} {
		if _, ok := fly.Env[secret]; ok {
			t.Errorf("%s belongs in fly secrets, not in fly.toml", secret)
		}
	}
}

func TestRenderYaml(t *testing.T) {
	raw, err := os.ReadFile("../render.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var render struct {
		Services []struct {
			Type            string `yaml:"type"`
			Name            string `yaml:"name"`
			Runtime         string `yaml:"runtime"`
			DockerfilePath  string `yaml:"dockerfilePath"`
			HealthCheckPath string `yaml:"healthCheckPath"`
			EnvVars         []struct {
				Key   string  `yaml:"key"`
				Value *string `yaml:"value"`
				Sync  *bool   `yaml:"sync"`
			} `yaml:"envVars"`
		} `yaml:"services"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&render); err != nil {
		t.Fatal(err)
	}
	if len(render.Services) != 1 {
		t.Fatalf("%d services", len(render.Services))
	}
	s := render.Services[0]
	if s.Type != "web" || s.Name == "" || s.Runtime != "docker" || s.HealthCheckPath != "/healthz" {
		t.Errorf("service %+v", s)
	}
	if _, err := os.Stat(filepath.Join("..", s.DockerfilePath)); err != nil {
		t.Errorf("dockerfilePath: %v", err)
	}
	vars := map[string]int{}
	for i, v := range s.EnvVars {
		vars[v.Key] = i
	}
	for _, secret := range []string{"DATABASE_URL", "DATABASE_MIGRATION_URL", "BETTER_AUTH_SECRET", "BETTER_AUTH_URL"} {
		i, ok := vars[secret]
		if !ok {
			t.Errorf("%s is missing", secret)
			continue
		}
		if v := s.EnvVars[i]; v.Sync == nil || *v.Sync || v.Value != nil {
			t.Errorf("%s must be sync: false without a value", secret)
		}
	}
	if i, ok := vars["APP_ENV"]; !ok || s.EnvVars[i].Value == nil || *s.EnvVars[i].Value != "production" {
		t.Error("APP_ENV is not production")
	}
	if _, ok := vars["PORT"]; ok {
		t.Error("PORT is Render's to set")
	}
}
