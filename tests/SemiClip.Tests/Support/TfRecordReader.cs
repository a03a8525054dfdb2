namespace SemiClip.Tests.Support;

/// <summary>An independent reader for TensorBoard event files: TFRecord framing (length, masked
/// CRC-32C of the length, payload, masked CRC-32C of the payload), each payload a tensorboard Event.</summary>
public static class TfRecordReader
{
    public static List<(string Tag, long Step, float Value)> ReadScalars(string path)
    {
        var result = new List<(string, long, float)>();
        var bytes = File.ReadAllBytes(path);
        int pos = 0;
        while (pos < bytes.Length)
        {
            ulong length = BitConverter.ToUInt64(bytes, pos);
            Assert.Equal(Masked(Crc32C(bytes.AsSpan(pos, 8))), BitConverter.ToUInt32(bytes, pos + 8));
            var payload = bytes.AsSpan(pos + 12, (int)length);
            Assert.Equal(Masked(Crc32C(payload)), BitConverter.ToUInt32(bytes, pos + 12 + (int)length));
            var ev = Tensorboard.Event.Parser.ParseFrom(payload.ToArray());
            if (ev.Summary != null)
                foreach (var v in ev.Summary.Value)
                    if (v.ValueCase == Tensorboard.Summary.Types.Value.ValueOneofCase.SimpleValue)
                        result.Add((v.Tag, ev.Step, v.SimpleValue));
            pos += 12 + (int)length + 4;
        }
        return result;
    }

    static uint Masked(uint crc) => ((crc >> 15) | (crc << 17)) + 0xa282ead8u;

    static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }
}
