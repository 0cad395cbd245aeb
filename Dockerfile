# syntax=docker/dockerfile:1
#
# docker build --build-arg VERSION=1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) -t todo-api .
# docker run -p 8080:8080 -e DATABASE_URL=... -e BETTER_AUTH_URL=... todo-api

# Build stage: a static binary. Every dependency is pure Go (the embedded
# SQLite driver too), so CGO_ENABLED=0 loses nothing. blackbox/deploy_test.go
# builds the binary with this very RUN line and checks that it is static and
# serves.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/todo-api .
# An empty /data for the SQLite choice (DATABASE_URL=sqlite:/data/todo.db with
# a volume mounted there): distroless has no shell to create it, and a Docker
# volume takes the ownership of the directory it is mounted on.
RUN mkdir -p /out/data

# Run stage: distroless "static" has CA certificates, tzdata and a nonroot
# user (uid 65532), and no shell or package manager to attack.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/todo-api /usr/local/bin/todo-api
COPY --from=build --chown=65532:65532 /out/data /data
# Production needs DATABASE_URL (PostgreSQL, or SQLite on a volume at /data):
# the image's own file system is gone after a redeploy.
WORKDIR /home/nonroot
ENV APP_ENV=production \
    PORT=8080
EXPOSE 8080
USER nonroot:nonroot
# No curl in the image: the binary checks itself (GET /healthz on $PORT).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/todo-api", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/todo-api"]
