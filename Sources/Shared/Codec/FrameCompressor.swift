import CLZ4
import CZlib
import CZstd

/// A reusable compression context for one codec: a kept `ZSTD_CCtx`, deflate `z_stream` or LZ4 state,
/// so that compressing a frame allocates nothing.
///
/// Not thread-safe and deliberately not `Sendable`: each thread or task owns its own compressor
/// (create it where it is used, or hand a fresh one over with `sending`).
public final class FrameCompressor {
    public let codec: Codec
    private let context: Context
    /// A valid address for empty buffers, whose `baseAddress` is nil: zlib refuses null buffer pointers
    /// even when their length is zero.
    private let placeholder = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    private enum Context {
        case none
        case zlib(UnsafeMutablePointer<z_stream>)
        case zstd(OpaquePointer)
        case lz4(UnsafeMutableRawPointer)
    }

    public init(codec: Codec) throws(CodecError) {
        guard codec.isLevelValid else {
            placeholder.deallocate()
            throw CodecError(.invalidLevel, codec: codec, "level of \(codec) is out of range")
        }
        self.codec = codec
        switch codec {
        case .none:
            context = .none
        case .zlib(let level):
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // Negative window bits select raw deflate (see `Codec.zlib`).
            let status = CZlib_deflateInit2(stream, level, -MAX_WBITS)
            guard status == Z_OK else {
                stream.deallocate()
                placeholder.deallocate()
                throw CodecError(.contextCreation, codec: codec, "deflateInit2 returned \(status)")
            }
            context = .zlib(stream)
        case .zstd:
            guard let cctx = ZSTD_createCCtx() else {
                placeholder.deallocate()
                throw CodecError(.contextCreation, codec: codec, "ZSTD_createCCtx failed")
            }
            context = .zstd(cctx)
        case .lz4:
            context = .lz4(UnsafeMutableRawPointer.allocate(byteCount: Int(LZ4_sizeofState()), alignment: 16))
        }
    }

    deinit {
        switch context {
        case .none: break
        case .zlib(let stream):
            deflateEnd(stream)
            stream.deallocate()
        case .zstd(let cctx): ZSTD_freeCCtx(cctx)
        case .lz4(let state): state.deallocate()
        }
        placeholder.deallocate()
    }

    /// The output capacity `compress` needs for `plainCount` bytes; 0 when the codec cannot take that many.
    public static func maxCompressedSize(codec: Codec, plainCount: Int) -> Int {
        guard plainCount >= 0 else { return 0 }
        switch codec {
        case .none:
            return plainCount
        case .zlib:
            // compressBound covers the zlib wrapper; raw deflate with default parameters needs 6 bytes less.
            guard plainCount <= Int(UInt32.max) else { return 0 }
            return Int(compressBound(uLong(plainCount)))
        case .zstd:
            let bound = ZSTD_compressBound(plainCount)
            return ZSTD_isError(bound) != 0 ? 0 : bound
        case .lz4:
            guard plainCount <= Int(LZ4_MAX_INPUT_SIZE) else { return 0 }
            return Int(LZ4_compressBound(Int32(plainCount)))
        }
    }

    /// Compresses all of `input` into `output` (capacity >= `maxCompressedSize`); returns the bytes written.
    public func compress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(CodecError) -> Int {
        let bound = Self.maxCompressedSize(codec: codec, plainCount: input.count)
        guard bound > 0 || input.isEmpty else {
            throw CodecError(.inputTooLarge, codec: codec, "\(input.count) plain bytes exceed what one frame can hold")
        }
        guard output.count >= bound else {
            throw CodecError(
                .outputTooSmall, codec: codec,
                "output capacity \(output.count) is below the bound \(bound) for \(input.count) bytes")
        }
        let source = input.baseAddress ?? UnsafeRawPointer(placeholder)
        let destination = output.baseAddress ?? placeholder
        switch context {
        case .none:
            destination.copyMemory(from: source, byteCount: input.count)
            return input.count
        case .zlib(let stream):
            deflateReset(stream)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(input.count)
            stream.pointee.next_out = destination.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(min(output.count, Int(UInt32.max)))
            let status = deflate(stream, Z_FINISH)
            guard status == Z_STREAM_END else {
                throw CodecError(
                    .internalFailure, codec: codec,
                    "deflate returned \(status) with \(stream.pointee.avail_out) bytes of room left")
            }
            return Int(stream.pointee.total_out)
        case .zstd(let cctx):
            guard case .zstd(let level) = codec else { preconditionFailure("zstd context for \(codec)") }
            let written = ZSTD_compressCCtx(cctx, destination, output.count, source, input.count, level)
            guard ZSTD_isError(written) == 0 else {
                throw CodecError(.internalFailure, codec: codec, String(cString: ZSTD_getErrorName(written)))
            }
            return written
        case .lz4(let state):
            let written = LZ4_compress_fast_extState(
                state, source.assumingMemoryBound(to: CChar.self), destination.assumingMemoryBound(to: CChar.self),
                Int32(input.count), Int32(clamping: output.count), 1)
            guard written > 0 else {
                throw CodecError(.internalFailure, codec: codec, "LZ4_compress_fast_extState returned \(written)")
            }
            return Int(written)
        }
    }
}
