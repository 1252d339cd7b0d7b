// Linux calls that Swift's Glibc module does not import, because they need _GNU_SOURCE or kernel
// headers. Each returns what the call returns (-1 with errno set on failure); SystemFile wraps them.
#ifndef CLINUX_H
#define CLINUX_H

#include <stdint.h>

/// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): frees the blocks of the range, which then
/// reads as zeros; the file keeps its size.
int CLinux_punch_hole(int fd, int64_t offset, int64_t length);

/// ioctl(FICLONE): makes `destination` share all of `source`'s blocks (btrfs, XFS); fails with
/// EOPNOTSUPP, EXDEV or EINVAL where the file system cannot.
int CLinux_clone(int destination, int source);

/// lseek(SEEK_DATA) and lseek(SEEK_HOLE): the next data or hole at or after `offset`; -1 with ENXIO
/// when there is none.
int64_t CLinux_seek_data(int fd, int64_t offset);
int64_t CLinux_seek_hole(int fd, int64_t offset);

/// copy_file_range: copies up to `length` bytes from `source` at `source_offset` to `destination` at
/// `destination_offset` inside the kernel (no copy through user space); the bytes copied, or -1.
int64_t CLinux_copy_range(int source, int64_t source_offset, int destination, int64_t destination_offset, int64_t length);

/// sync_file_range(SYNC_FILE_RANGE_WRITE): starts writing the range's dirty pages to disk without
/// waiting for them, so that a later fsync has less left to wait for.
int CLinux_start_writeback(int fd, int64_t offset, int64_t length);

#endif
