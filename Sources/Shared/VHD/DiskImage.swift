import Foundation

/// The one entry point for source disks: detects the format of a file and opens it, with its parent chain.
///
/// Detection, in order:
/// - The first 8 bytes are `vhdxfile`: a VHDX, read by `VHDXDisk` ([vhdx.md](../../../docs/vhdx.md)).
///   This comes first because a VHDX's last 512 bytes are guest data, which may hold anything.
/// - The last 512 bytes start with `conectix`: a VHD, read by that footer. A 511-byte footer (old
///   Virtual PC) is tolerated deliberately, with a warning: the missing last byte is reserved and zero.
/// - A dynamic or differencing VHD must also hold an identical footer copy at offset 0. When one of the
///   two is damaged (cookie or checksum) the other is used and the damage reported as a warning; when
///   both are valid but differ, the file is refused. When the end has no footer at all but offset 0 holds
///   a valid dynamic or differencing footer, the file is read as a VHD whose end was cut off, with a
///   warning (its structures are then checked against the shorter file, which usually fails).
/// - A file without a footer at the end whose first sector has the cookie but fails the footer's checks
///   is refused: it is a damaged VHD, not a raw image; so is a file with a valid VHDX header at 64 or
///   128 KiB but no `vhdxfile` at 0.
/// - A file starting with the signature of another format (qcow2, VMDK, VDI) is refused with the
///   command that converts it; so is anything that is not a regular file or a block device.
/// - Anything else is a raw image: virtual size = file size, which must be whole 512-byte sectors (the
///   target rounds it up to a whole MiB). A fixed VHD whose footer was cut off is therefore
///   indistinguishable from, and read as, a raw image.
///
/// The virtual size of a VHD is always the footer's `current size`, as Hyper-V and Azure take it. qemu
/// takes the CHS geometry instead for creators such as `vpc ` and `qemu`; qemu-img writes those files
/// with `current size` equal to the geometry's capacity, so both agree on them.
///
/// A differencing VHD's parent is searched through the parent locators (`W2ru`, then `W2ku`, then the
/// deprecated `Wi2r`, `Wi2k` and `MacX`; see `ParentLocator.resolve`), then by the header's parent name
/// in the child's directory. The first existing candidate whose footer unique id equals the child's
/// parent unique id is the parent. A differencing VHDX's parent is searched through its locator's
/// paths (`VHDXParentLocator.candidates`) and must be a VHDX whose data write GUID is the locator's
/// `parent_linkage`. Chains are limited to `maximumChainDepth` files and may not loop.
public enum DiskImage {
    /// The most files a differencing chain may have, the child included.
    public static let maximumChainDepth = 64

    public static func open(_ path: String) throws -> any VirtualDisk {
        try open(path, descendants: [])
    }

    /// `descendants`: canonical paths of the differencing disks that led to `path`, child first.
    private static func open(_ path: String, descendants: [String]) throws -> any VirtualDisk {
        // Only regular files and block devices: opening a FIFO would block until a writer comes.
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFREG, status.st_mode & S_IFMT != S_IFBLK {
            throw VHDError(.notADisk, path: path, structure: .virtualDisk, "not a regular file or a block device")
        }
        let file = try SystemFile.openForReading(path)
        let size = try file.size()
        if size >= 8, try file.readExactly(8, at: 0) == VHDXDisk.fileSignature {
            return try VHDXDisk(file: file) { locator in
                try openParent(
                    of: path, search: vhdxParentSearch(of: path, locator: locator),
                    descendants: descendants + [canonicalPath(path)])
            }
        }
        var warnings: [String] = []

        var footerOffset = size
        var endFooter: Result<VHDFooter, any Error>?
        if size >= UInt64(VHDFooter.size) {
            footerOffset = size - UInt64(VHDFooter.size)
            endFooter = parseIfCookie(
                try file.readExactly(VHDFooter.size, at: footerOffset), path: path,
                structure: .footer, offset: footerOffset)
        }
        if endFooter == nil, size >= UInt64(VHDFooter.size - 1) {
            let offset = size - UInt64(VHDFooter.size - 1)
            endFooter = parseIfCookie(
                try file.readExactly(VHDFooter.size - 1, at: offset) + [0], path: path,
                structure: .footer, offset: offset)
            if endFooter != nil {
                footerOffset = offset
                warnings.append(
                    "\(path): the footer at byte offset \(offset) is 511 bytes long (written by an "
                        + "old Virtual PC); read as a 512-byte footer whose last, reserved byte is zero")
            }
        }

        func copyFooter() throws -> Result<VHDFooter, any Error>? {
            guard size >= UInt64(VHDFooter.size) else { return nil }
            return parseIfCookie(
                try file.readExactly(VHDFooter.size, at: 0), path: path,
                structure: .footerCopy, offset: 0)
        }
        func sparse(_ footer: VHDFooter, readAt offset: UInt64, dataLimit: UInt64) throws -> any VirtualDisk {
            try SparseDisk(
                file: file, footer: footer, footerOffset: offset, dataLimit: dataLimit,
                warnings: warnings
            ) { header, locatorData in
                try openParent(
                    of: path, search: vhdParentSearch(of: path, header: header, locatorData: locatorData),
                    descendants: descendants + [canonicalPath(path)])
            }
        }

        switch endFooter {
        case .success(let footer) where footer.diskType == .fixed:
            guard footer.currentSize <= footerOffset else {
                throw VHDError(
                    .outOfBounds, path: path, structure: .footer, field: "current size",
                    offset: footerOffset + UInt64(VHDFooter.Field.currentSize),
                    "the fixed disk's \(footer.currentSize) bytes do not fit before the footer at byte "
                        + "\(footerOffset) (truncated file?)")
            }
            if footer.currentSize < footerOffset {
                warnings.append(
                    "\(path): \(footerOffset - footer.currentSize) bytes between the fixed disk's "
                        + "data (current size \(footer.currentSize)) and its footer are ignored")
            }
            return FlatDisk(
                file: file, format: .fixed, virtualSize: footer.currentSize, footer: footer,
                warnings: warnings)
        case .success(let footer):
            // The copy is expected here, so a copy without its cookie is reported as damaged, not absent.
            let copy =
                size >= UInt64(2 * VHDFooter.size)
                ? Result {
                    try VHDFooter(
                        parsing: try file.readExactly(VHDFooter.size, at: 0), path: path,
                        structure: .footerCopy, offset: 0)
                } : nil
            switch copy {
            case .success(let copy) where copy != footer:
                throw VHDError(
                    .footerMismatch, path: path, structure: .footerCopy, offset: 0,
                    "the footer copy differs from the footer at byte offset \(footerOffset) although "
                        + "both checksums are right; the file was modified inconsistently")
            case .success:
                break
            case .failure(let error):
                warnings.append("\(error); using the footer at byte offset \(footerOffset)")
            case nil:
                warnings.append(
                    "\(path): footer copy at byte offset 0 is missing; using the footer at byte "
                        + "offset \(footerOffset)")
            }
            return try sparse(footer, readAt: footerOffset, dataLimit: footerOffset)
        case .failure(let error):
            if case .success(let copy) = try copyFooter(), copy.diskType != .fixed {
                warnings.append("\(error); using the footer copy at byte offset 0")
                return try sparse(copy, readAt: 0, dataLimit: footerOffset)
            }
            throw error
        case nil:
            switch try copyFooter() {
            case .success(let copy) where copy.diskType != .fixed:
                warnings.append(
                    "\(path): no footer at the end of the file (truncated?); using the footer copy "
                        + "at byte offset 0")
                return try sparse(copy, readAt: 0, dataLimit: size)
            case .failure(let error):
                throw error
            default:
                try checkRaw(file, size: size, path: path)
                return FlatDisk(file: file, format: .raw, virtualSize: size, footer: nil, warnings: [])
            }
        }
    }

    /// The signatures of the formats a user may mistake for a raw disk, with their names.
    static func foreignFormat(_ head: [UInt8]) -> String? {
        func starts(_ text: String, at offset: Int = 0) -> Bool {
            let bytes = Array(text.utf8)
            return head.count >= offset + bytes.count && Array(head[offset..<offset + bytes.count]) == bytes
        }
        if head.starts(with: [0x51, 0x46, 0x49, 0xFB]) { return "qcow2" }  // "QFI\xfb", qcow and qcow2
        if starts("KDMV") || starts("COWD") || starts("# Disk DescriptorFile") { return "VMDK" }
        // VDI's signature 0xbeda107f, little-endian.
        if head.count >= 68, Array(head[64..<68]) == [0x7F, 0x10, 0xDA, 0xBE] { return "VDI" }
        return nil
    }

    /// A file taken as a raw image must not be another format's container, and must hold whole sectors.
    private static func checkRaw(_ file: SystemFile, size: UInt64, path: String) throws {
        // A VHDX whose first bytes were damaged still has its headers: refused as a damaged VHDX.
        if size >= VHDXDisk.headerSectionSize, (try? VHDXHeader.current(of: file)) != nil {
            throw VHDError(
                .badCookie, path: path, structure: .fileIdentifier, field: "signature", offset: 0,
                "the file has VHDX headers but does not start with 'vhdxfile': a damaged VHDX, not a raw image")
        }
        if let format = foreignFormat(try file.readExactly(Int(min(size, 512)), at: 0)) {
            throw VHDError(
                .unsupportedFormat, path: path, structure: .virtualDisk,
                "this is a \(format) image, which relay-client does not read; convert it to a VHD first: "
                    + "qemu-img convert -O vpc -o subformat=dynamic \(path) OUT.vhd")
        }
        guard size % 512 == 0 else {
            throw VHDError(
                .notADisk, path: path, structure: .virtualDisk,
                "\(size) bytes is not a whole number of 512-byte sectors, so this is not a raw disk image")
        }
    }

    /// nil when `bytes` does not start with the footer cookie, else the parse outcome (errors kept, so the
    /// caller can fall back to the other footer).
    private static func parseIfCookie(
        _ bytes: [UInt8], path: String, structure: VHDError.Structure, offset: UInt64
    ) -> Result<VHDFooter, any Error>? {
        guard Array(bytes[0..<8]) == VHDFooter.cookie else { return nil }
        return Result { try VHDFooter(parsing: bytes, path: path, structure: structure, offset: offset) }
    }

    /// What a differencing child says about its parent, whatever its format: where to look, and how to
    /// tell the right file.
    struct ParentSearch {
        var candidates: [(path: String, source: String)]
        /// Whether a candidate is the parent, and what it is instead when not (for the message). Reads the
        /// candidate's identity only, without opening its own chain.
        var identify: (String) -> (matches: Bool, found: String)
        /// The error when candidates exist but none matches, given what they were.
        var mismatch: ([String]) -> VHDError
        /// The error when no candidate exists, given the paths tried.
        var missing: ([String]) -> VHDError
    }

    private static func vhdParentSearch(
        of path: String, header: DynamicHeader, locatorData: (ParentLocator) throws -> [UInt8]
    ) throws -> ParentSearch {
        let childDirectory = directory(of: path)
        var candidates: [(path: String, source: String)] = []
        for code in ParentLocator.preference {
            for locator in header.parentLocators where locator.platformCode == code {
                if let candidate = locator.resolve(try locatorData(locator), childDirectory: childDirectory) {
                    candidates.append((candidate, "\(code) locator (entry \(locator.index))"))
                }
            }
        }
        if let name = header.parentUnicodeName.split(whereSeparator: { $0 == "\\" || $0 == "/" }).last {
            candidates.append((childDirectory + "/" + name, "parent unicode name"))
        }
        return ParentSearch(
            candidates: candidates,
            identify: { candidate in
                let id = footerUniqueID(candidate)
                return (id == header.parentUniqueID, "unique id " + (id?.uuidString ?? "none (a raw image)"))
            },
            mismatch: { mismatches in
                VHDError(
                    .parentMismatch, path: path, structure: .dynamicHeader, field: "parent unique id",
                    offset: header.offset + UInt64(DynamicHeader.Field.parentUniqueID),
                    "expected parent \(header.parentUniqueID.uuidString), but " + mismatches.joined(separator: "; ")
                        + "; the parent was replaced or recreated, so this child no longer applies to it")
            },
            missing: { tried in
                VHDError(
                    .parentMissing, path: path, structure: .parentLocator,
                    offset: header.parentLocators.first?.entryOffset
                        ?? header.offset + UInt64(DynamicHeader.Field.parentLocators),
                    "no parent file found; tried "
                        + (tried.isEmpty
                            ? "nothing (no usable locator)"
                            : tried.joined(separator: ", "))
                        + "; put the parent \(header.parentUniqueID.uuidString) at one of these paths")
            })
    }

    private static func vhdxParentSearch(of path: String, locator: VHDXParentLocator) -> ParentSearch {
        let expected = locator.linkages.map(\.uuidString).joined(separator: " or ")
        return ParentSearch(
            candidates: locator.candidates(childDirectory: directory(of: path)),
            identify: { candidate in
                let id = vhdxDataWriteGUID(candidate)
                return (
                    id.map(locator.linkages.contains) ?? false,
                    id.map { "data write GUID \($0.uuidString)" } ?? "no valid VHDX header"
                )
            },
            mismatch: { mismatches in
                VHDError(
                    .parentMismatch, path: path, structure: .parentLocator, field: "parent_linkage",
                    offset: locator.place.offset,
                    "expected a parent VHDX with data write GUID \(expected), but " + mismatches.joined(separator: "; ")
                        + "; the parent was written to or replaced since this child was made, so the child no "
                        + "longer applies to it")
            },
            missing: { tried in
                VHDError(
                    .parentMissing, path: path, structure: .parentLocator, offset: locator.place.offset,
                    "no parent file found; tried "
                        + (tried.isEmpty
                            ? "nothing (no usable path in the locator)"
                            : tried.joined(separator: ", "))
                        + "; put the parent (data write GUID \(expected)) at one of these paths")
            })
    }

    private static func openParent(of path: String, search: ParentSearch, descendants: [String]) throws
        -> any VirtualDisk
    {
        guard descendants.count < maximumChainDepth else {
            throw VHDError(
                .chainTooDeep, path: path, structure: .parentChain,
                "the chain under \(descendants[0]) has more than \(maximumChainDepth) files")
        }
        var tried: [String] = []
        var mismatches: [String] = []
        for (candidate, source) in search.candidates where !tried.contains(candidate) {
            tried.append(candidate)
            // Only regular files: a locator naming a FIFO or a device must not block or read a device.
            var status = stat()
            guard stat(candidate, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            let canonical = canonicalPath(candidate)
            if descendants.contains(canonical) {
                throw VHDError(
                    .chainCycle, path: path, structure: .parentChain,
                    "the parent \(candidate) (from the \(source)) is already in the chain "
                        + (descendants.joined(separator: " → ")))
            }
            // The candidate's identity first: only the one that matches is opened with its own chain, so
            // decoys cost one small read each, not a recursive open (linear, not exponential).
            let identity = search.identify(candidate)
            guard identity.matches else {
                mismatches.append("\(candidate) (from the \(source)) has \(identity.found)")
                continue
            }
            return try open(candidate, descendants: descendants)
        }
        throw mismatches.isEmpty ? search.missing(tried) : search.mismatch(mismatches)
    }

    private static func directory(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
    }

    /// The data write GUID of the current header of the VHDX at `path`, nil for anything else.
    private static func vhdxDataWriteGUID(_ path: String) -> UUID? {
        guard let file = try? SystemFile.openForReading(path),
            (try? file.size()).map({ $0 >= VHDXDisk.headerSectionSize }) == true,
            (try? file.readExactly(8, at: 0)) == VHDXDisk.fileSignature
        else { return nil }
        return (try? VHDXHeader.current(of: file))?.header.dataWriteGUID
    }

    /// The unique id of the first valid footer of `path` (at the end, a 511-byte one, or the copy at 0),
    /// nil for a file without one: what `open` would report, read without opening the file's chain.
    private static func footerUniqueID(_ path: String) -> UUID? {
        guard let file = try? SystemFile.openForReading(path), let size = try? file.size() else { return nil }
        let full = UInt64(VHDFooter.size)
        var places: [(offset: UInt64, length: Int)] = []
        if size >= full { places += [(size - full, VHDFooter.size), (0, VHDFooter.size)] }
        if size >= full - 1 { places.append((size - full + 1, VHDFooter.size - 1)) }
        for (offset, length) in places {
            guard var bytes = try? file.readExactly(length, at: offset) else { continue }
            bytes += [UInt8](repeating: 0, count: VHDFooter.size - length)
            if case .success(let footer)? = parseIfCookie(bytes, path: path, structure: .footer, offset: offset) {
                return footer.uniqueID
            }
        }
        return nil
    }

    /// The path with symbolic links and `.`/`..` resolved, to recognise one file under two names.
    private static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
