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

# Prints the path of the benchmarks' sample disk: a dynamic VHD holding an ext4 file system filled with
# up to $1 MB of /usr/share files, made once under bench/data and reused (scripts/bench, bench-worker).
relay_bench_sample() {
    local source_mb=$1 data=bench/data
    local image=$data/usr-share-${source_mb}MB.vhd
    if [[ ! -f $image ]]; then
        mkdir -p "$data"
        (
            work=$(mktemp -d "$data/work.XXXXXX")
            trap 'rm -rf "$work"' EXIT
            echo "bench: copying up to $source_mb MB of /usr/share files" >&2
            # Regular readable files in path order, until their sizes add up to the limit (awk reads
            # to the end, so that find and sort never die of SIGPIPE under pipefail).
            find /usr/share -xdev -type f -readable -printf '%s\t%P\n' | LC_ALL=C sort -t $'\t' -k2 \
                | awk -F '\t' -v limit=$((source_mb * 1000000)) \
                    '!full { total += $1; if (total > limit) full = 1; else print $2 }' \
                > "$work/files"
            mkdir "$work/tree"
            tar -C /usr/share --no-recursion --verbatim-files-from -T "$work/files" -cf - | tar -C "$work/tree" -xf -
            # Room for the files' blocks, inodes and the journal: space used plus a third plus 64 MiB.
            used_mb=$(du -s --block-size=1M "$work/tree" | cut -f1)
            image_mb=$((used_mb + used_mb / 3 + 64))
            echo "bench: making a ${image_mb} MiB ext4 file system from $used_mb MiB of files" >&2
            truncate -s "${image_mb}M" "$work/disk.raw"
            PATH=$PATH:/usr/sbin:/sbin mkfs.ext4 -q -F -d "$work/tree" "$work/disk.raw"
            qemu-img convert -f raw -O vpc "$work/disk.raw" "$work/disk.vhd"
            mv "$work/disk.vhd" "$image"
        )
    fi
    echo "$image"
}
