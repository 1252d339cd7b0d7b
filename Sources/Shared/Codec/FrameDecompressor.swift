import CLZ4
import CZlib
import CZstd

/// A reusable decompression context for every codec (a kept `ZSTD_DCtx` and inflate `z_stream`), so that
/// decompressing a frame allocates nothing. (One-shot zstd decoding writes straight into the output and
/// keeps no window, so a frame claiming a huge window cannot make it allocate either.)
///
/// Output is bounded by the caller's declared plain size: a frame that would produce more or fewer bytes
/// is refused and nothing is written past `output`. Not thread-safe and deliberately not `Sendable`:
/// each thread or task owns its own decompressor.
public final class FrameDecompressor {
    private let dctx: OpaquePointer
    private let inflater: UnsafeMutablePointer<z_stream>
    /// A valid address for empty buffers, whose `baseAddress` is nil: zlib refuses null buffer pointers
    /// even when their length is zero.
    private let placeholder = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    public init() throws(CodecError) {
        guard let dctx = ZSTD_createDCtx() else {
            placeholder.deallocate()
            throw CodecError(.contextCreation, codec: .zstd(level: Codec.defaultZstdLevel), "ZSTD_createDCtx failed")
        }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = CZlib_inflateInit2(stream, -MAX_WBITS)
        guard status == Z_OK else {
            stream.deallocate()
            ZSTD_freeDCtx(dctx)
            placeholder.deallocate()
            throw CodecError(
                .contextCreation, codec: .zlib(level: Codec.defaultZlibLevel), "inflateInit2 returned \(status)")
        }
        self.dctx = dctx
        self.inflater = stream
    }

    deinit {
        ZSTD_freeDCtx(dctx)
        inflateEnd(inflater)
        inflater.deallocate()
        placeholder.deallocate()
    }

    /// Decompresses one frame into `output`, whose count is the declared plain size. Throws if the frame
    /// is malformed or would produce more or fewer bytes than declared (output never overruns).
    public func decompress(
        _ input: UnsafeRawBufferPointer, codec: Codec, into output: UnsafeMutableRawBufferPointer
    ) throws(CodecError) {
        let source = input.baseAddress ?? UnsafeRawPointer(placeholder)
        let destination = output.baseAddress ?? placeholder
        switch codec {
        case .none:
            guard input.count == output.count else {
                throw CodecError(
                    .sizeMismatch, codec: codec, "frame holds \(input.count) bytes, \(output.count) declared")
            }
            destination.copyMemory(from: source, byteCount: input.count)
        case .zlib:
            try inflate(source, count: input.count, into: destination, count: output.count, codec: codec)
        case .zstd:
            try decompressZstd(source, count: input.count, into: destination, count: output.count, codec: codec)
        case .lz4:
            guard input.count <= Int(Int32.max), output.count <= Int(Int32.max) else {
                throw CodecError(
                    .sizeMismatch, codec: codec,
                    "frame of \(input.count) bytes or declared size \(output.count) exceeds the LZ4 limit")
            }
            // LZ4_decompress_safe never writes past the capacity; the block format has no size of its own,
            // so "more than declared" shows up as an error and "fewer" as a short result.
            let produced = LZ4_decompress_safe(
                source.assumingMemoryBound(to: CChar.self), destination.assumingMemoryBound(to: CChar.self),
                Int32(input.count), Int32(output.count))
            guard produced >= 0 else {
                throw CodecError(
                    .malformedFrame, codec: codec,
                    "corrupt block, or it expands beyond the declared \(output.count) bytes")
            }
            guard Int(produced) == output.count else {
                throw CodecError(
                    .sizeMismatch, codec: codec, "block expands to \(produced) bytes, \(output.count) declared")
            }
        }
    }

    private func decompressZstd(
        _ source: UnsafeRawPointer, count inputCount: Int,
        into destination: UnsafeMutableRawPointer, count outputCount: Int, codec: Codec
    ) throws(CodecError) {
        let declared = ZSTD_getFrameContentSize(source, inputCount)
        // The two largest values are ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR.
        guard declared < UInt64.max - 1 else {
            throw CodecError(.malformedFrame, codec: codec, "no readable frame header with a content size")
        }
        guard declared == UInt64(outputCount) else {
            throw CodecError(
                .sizeMismatch, codec: codec, "frame declares \(declared) bytes, \(outputCount) declared by the segment")
        }
        // Exactly one frame: zstd would otherwise go on to decode concatenated or skippable frames.
        let frameLength = ZSTD_findFrameCompressedSize(source, inputCount)
        guard ZSTD_isError(frameLength) == 0 else {
            throw CodecError(.malformedFrame, codec: codec, String(cString: ZSTD_getErrorName(frameLength)))
        }
        guard frameLength == inputCount else {
            throw CodecError(.malformedFrame, codec: codec, "frame ends at byte \(frameLength) of \(inputCount)")
        }
        let produced = ZSTD_decompressDCtx(dctx, destination, outputCount, source, inputCount)
        guard ZSTD_isError(produced) == 0 else {
            throw CodecError(.malformedFrame, codec: codec, String(cString: ZSTD_getErrorName(produced)))
        }
        guard produced == outputCount else {
            throw CodecError(.sizeMismatch, codec: codec, "frame expands to \(produced) bytes, \(outputCount) declared")
        }
    }

    private func inflate(
        _ source: UnsafeRawPointer, count inputCount: Int,
        into destination: UnsafeMutableRawPointer, count outputCount: Int, codec: Codec
    ) throws(CodecError) {
        guard inputCount <= Int(UInt32.max), outputCount <= Int(UInt32.max) else {
            throw CodecError(
                .sizeMismatch, codec: codec,
                "frame of \(inputCount) bytes or declared size \(outputCount) exceeds 4 GiB")
        }
        inflateReset(inflater)
        inflater.pointee.next_in = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: Bytef.self))
        inflater.pointee.avail_in = uInt(inputCount)
        inflater.pointee.next_out = destination.assumingMemoryBound(to: Bytef.self)
        inflater.pointee.avail_out = uInt(outputCount)
        let status = CZlib.inflate(inflater, Z_FINISH)
        let produced = outputCount - Int(inflater.pointee.avail_out)
        let unread = Int(inflater.pointee.avail_in)
        switch status {
        case Z_STREAM_END:
            guard produced == outputCount else {
                throw CodecError(
                    .sizeMismatch, codec: codec, "stream ends after \(produced) bytes, \(outputCount) declared")
            }
            guard unread == 0 else {
                throw CodecError(.malformedFrame, codec: codec, "\(unread) bytes follow the end of the deflate stream")
            }
        case Z_BUF_ERROR where produced == outputCount:
            throw CodecError(.sizeMismatch, codec: codec, "stream expands beyond the declared \(outputCount) bytes")
        case Z_BUF_ERROR:
            throw CodecError(.malformedFrame, codec: codec, "stream is truncated after \(inputCount - unread) bytes")
        default:
            let message = inflater.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
            throw CodecError(
                .malformedFrame, codec: codec, "inflate failed at input byte \(inputCount - unread): \(message)")
        }
    }
}
