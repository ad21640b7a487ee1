using System.Text;

namespace Sutazai.Testing;

/// <summary>
/// Writes a tiny llama-architecture GGUF v3 model with random weights, so tests run the real llama.cpp runtime
/// without downloadable weights. Its text is noise; loading, tokenizing, sampling, streaming, stop sequences and
/// token counts are real. The same seed writes the same file, and the same file with the same sampling seed
/// generates the same text. It never ends an answer by itself.
/// </summary>
public static class TinyGguf
{
    private const int Embedding = 64;
    private const int Blocks = 2;
    private const int Heads = 4;
    private const int FeedForward = 128;
    private const int Alignment = 32;

    /// <summary>Changes whenever what <see cref="Write"/> writes changes, so a kept file is never a stale one.</summary>
    public const int Version = 2;

    /// <summary>The model in the temp directory, written by the first caller and shared by the rest.</summary>
    public static string InTemp() => Write(Path.Combine(Path.GetTempPath(), "sutazai-tests", $"tiny-v{Version}.gguf"));

    /// <summary>Writes the model to <paramref name="path"/> (once; an existing file is kept).</summary>
    public static string Write(string path, int seed = 7, int contextLength = 1024)
    {
        if (File.Exists(path))
        {
            return path;
        }

        var (tokens, types, scores) = Vocabulary();
        var random = new Random(seed);
        var tensors = new List<(string Name, long[] Dims, float[] Data)>
        {
            ("token_embd.weight", [Embedding, tokens.Count], Weights(random, Embedding * tokens.Count, 0.5f)),
        };
        for (var block = 0; block < Blocks; block++)
        {
            var prefix = $"blk.{block}.";
            tensors.Add((prefix + "attn_norm.weight", [Embedding], Ones(Embedding)));
            tensors.Add((prefix + "attn_q.weight", [Embedding, Embedding], Weights(random, Embedding * Embedding, 0.2f)));
            tensors.Add((prefix + "attn_k.weight", [Embedding, Embedding], Weights(random, Embedding * Embedding, 0.2f)));
            tensors.Add((prefix + "attn_v.weight", [Embedding, Embedding], Weights(random, Embedding * Embedding, 0.2f)));
            tensors.Add((prefix + "attn_output.weight", [Embedding, Embedding], Weights(random, Embedding * Embedding, 0.2f)));
            tensors.Add((prefix + "ffn_norm.weight", [Embedding], Ones(Embedding)));
            tensors.Add((prefix + "ffn_gate.weight", [Embedding, FeedForward], Weights(random, Embedding * FeedForward, 0.2f)));
            tensors.Add((prefix + "ffn_up.weight", [Embedding, FeedForward], Weights(random, Embedding * FeedForward, 0.2f)));
            tensors.Add((prefix + "ffn_down.weight", [FeedForward, Embedding], Weights(random, Embedding * FeedForward, 0.2f)));
        }

        tensors.Add(("output_norm.weight", [Embedding], Ones(Embedding)));
        // Control tokens get no output weight, so they never win: answers run to the token limit or a stop sequence.
        var output = Weights(random, Embedding * tokens.Count, 1.0f);
        for (var token = 0; token < tokens.Count; token++)
        {
            if (types[token] == 3)
            {
                Array.Clear(output, token * Embedding, Embedding);
            }
        }

        tensors.Add(("output.weight", [Embedding, tokens.Count], output));

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // Test assemblies run side by side and may write the same model at once.
        var partial = $"{path}.{Guid.NewGuid():N}.partial";
        using (var writer = new BinaryWriter(File.Create(partial), Encoding.UTF8, leaveOpen: false))
        {
            writer.Write("GGUF"u8);
            writer.Write(3u);
            writer.Write((ulong)tensors.Count);
            var metadata = new List<Action>
            {
                () => String("general.architecture", "llama"),
                () => String("general.name", "sutazai-tiny"),
                () => UInt32("llama.context_length", (uint)contextLength),
                () => UInt32("llama.embedding_length", Embedding),
                () => UInt32("llama.block_count", Blocks),
                () => UInt32("llama.feed_forward_length", FeedForward),
                () => UInt32("llama.attention.head_count", Heads),
                () => UInt32("llama.attention.head_count_kv", Heads),
                () => UInt32("llama.rope.dimension_count", Embedding / Heads),
                () => Float32("llama.attention.layer_norm_rms_epsilon", 1e-5f),
                () => String("tokenizer.ggml.model", "llama"),
                () => Array("tokenizer.ggml.tokens", 8, tokens.Count, () => tokens.ForEach(GgufString)),
                () => Array("tokenizer.ggml.scores", 6, scores.Count, () => scores.ForEach(writer.Write)),
                () => Array("tokenizer.ggml.token_type", 5, types.Count, () => types.ForEach(writer.Write)),
                () => UInt32("tokenizer.ggml.unknown_token_id", 0),
                () => UInt32("tokenizer.ggml.bos_token_id", 1),
                () => UInt32("tokenizer.ggml.eos_token_id", 2),
                () => String("tokenizer.chat_template", ChatTemplate),
            };
            writer.Write((ulong)metadata.Count);
            metadata.ForEach(m => m());

            ulong offset = 0;
            foreach (var (name, dims, data) in tensors)
            {
                GgufString(name);
                writer.Write((uint)dims.Length);
                foreach (var dim in dims)
                {
                    writer.Write((ulong)dim);
                }

                writer.Write(0u); // F32
                writer.Write(offset);
                offset += Align((ulong)data.Length * sizeof(float));
            }

            Pad();
            foreach (var (_, _, data) in tensors)
            {
                foreach (var value in data)
                {
                    writer.Write(value);
                }

                Pad();
            }

            void GgufString(string value)
            {
                var bytes = Encoding.UTF8.GetBytes(value);
                writer.Write((ulong)bytes.Length);
                writer.Write(bytes);
            }

            void String(string key, string value)
            {
                GgufString(key);
                writer.Write(8u);
                GgufString(value);
            }

            void UInt32(string key, uint value)
            {
                GgufString(key);
                writer.Write(4u);
                writer.Write(value);
            }

            void Float32(string key, float value)
            {
                GgufString(key);
                writer.Write(6u);
                writer.Write(value);
            }

            void Array(string key, uint elementType, int count, Action elements)
            {
                GgufString(key);
                writer.Write(9u);
                writer.Write(elementType);
                writer.Write((ulong)count);
                elements();
            }

            void Pad()
            {
                while (writer.BaseStream.Position % Alignment != 0)
                {
                    writer.Write((byte)0);
                }
            }
        }

        File.Move(partial, path, overwrite: true);
        return path;
    }

    private const string ChatTemplate =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static ulong Align(ulong size) => (size + Alignment - 1) / Alignment * Alignment;

    /// <summary>
    /// Unknown, begin and end; the 256 byte tokens (without them an unknown character aborts the native library);
    /// then letters, digits, punctuation and some words, each also with SentencePiece's word-start mark.
    /// </summary>
    private static (List<string> Tokens, List<int> Types, List<float> Scores) Vocabulary()
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { 2, 3, 3 };
        for (var b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(6);
        }

        var pieces = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;!?'\"-()".Select(c => c.ToString())
            .Concat(["the", "and", "is", "of", "to", "in", "it", "you", "that", "model", "agent", "task", "hello", "world", "user", "assistant", "system"])
            .ToList();
        foreach (var piece in pieces)
        {
            tokens.Add(piece);
            types.Add(1);
            tokens.Add("\u2581" + piece);
            types.Add(1);
        }

        tokens.Add("\u2581");
        types.Add(1);
        // ChatML's markers, as control tokens, and its template: chat prompts are built the way real models' are.
        tokens.AddRange(["<|im_start|>", "<|im_end|>"]);
        types.AddRange([3, 3]);
        // Longer pieces win when the tokenizer merges.
        var scores = tokens.Select((t, i) => types[i] == 1 ? t.Length : 0f).ToList();
        return (tokens, types, scores);
    }

    private static float[] Weights(Random random, int count, float scale)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        }

        return values;
    }

    private static float[] Ones(int count) => Enumerable.Repeat(1f, count).ToArray();
}
