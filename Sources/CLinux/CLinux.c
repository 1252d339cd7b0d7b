// Compiled with _GNU_SOURCE (Package.swift), which fallocate's flags and SEEK_DATA/SEEK_HOLE need.
#include "CLinux.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

int CLinux_punch_hole(int fd, int64_t offset, int64_t length) {
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
}

int CLinux_clone(int destination, int source) {
    return ioctl(destination, FICLONE, source);
}

int64_t CLinux_seek_data(int fd, int64_t offset) {
    return lseek(fd, (off_t)offset, SEEK_DATA);
}

int64_t CLinux_seek_hole(int fd, int64_t offset) {
    return lseek(fd, (off_t)offset, SEEK_HOLE);
}

int64_t CLinux_copy_range(int source, int64_t source_offset, int destination, int64_t destination_offset, int64_t length) {
    off_t in = (off_t)source_offset, out = (off_t)destination_offset;
    return copy_file_range(source, &in, destination, &out, (size_t)length, 0);
}

int CLinux_start_writeback(int fd, int64_t offset, int64_t length) {
    return sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
}
