# Shared by the scripts: install what is missing from Debian's packages, find the toolchain.
# shellcheck shell=bash

# apt_install PKG... : installs the packages that are not installed yet (needs root or sudo).
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo ">> installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ensure_cargo: cargo on PATH (rustup's default location included).
ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 || {
    echo "cargo not found: install Rust (https://rustup.rs) first" >&2
    exit 1
  }
}

# free_port: a loopback port nobody listens on now (never 6379), for the scripts' own servers.
free_port() {
  local port
  while :; do
    # below Linux's ephemeral range (32768-60999), where outgoing connections take their
    # local ports: a port that is free now stays free for a server about to bind it
    port=$(( 20000 + RANDOM % 12000 ))
    [ "$port" -eq 6379 ] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}
