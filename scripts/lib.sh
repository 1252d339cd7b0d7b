# shellcheck shell=bash
# Shared by the scripts: puts Swift on PATH and installs the system packages the project needs.
# Sourced, not run.

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

# Debian packages: build libraries, then the independent tools the tests judge our output with, then the
# checkers of scripts/ and deploy/ (shellcheck; systemd-analyze; promtool, from prometheus).
RELAY_APT_PACKAGES=(
    pkg-config zlib1g-dev libzstd-dev liblz4-dev libxxhash-dev libcurl4-openssl-dev libsqlite3-dev
    libxml2 sqlite3 qemu-utils libvhdi-utils python3-libvhdi e2fsprogs zstd pigz gzip xxhash python3-venv
    shellcheck systemd prometheus
)

# Installs whichever of RELAY_APT_PACKAGES are missing (needs root, as on CI).
relay_install_packages() {
    local missing=()
    for package in "${RELAY_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
}
