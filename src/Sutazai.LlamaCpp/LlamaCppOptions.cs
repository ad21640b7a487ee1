using Microsoft.Extensions.Options;

namespace Sutazai.LlamaCpp;

/// <summary>Local GGUF models run in-process by llama.cpp, bound from <c>Sutazai:Models:LlamaCpp</c>.</summary>
public sealed class LlamaCppOptions
{
    public const string Section = "Sutazai:Models:LlamaCpp";

    /// <summary>By the name callers use, for example <c>Sutazai:Models:LlamaCpp:Models:tinyllama:Path</c>.</summary>
    public Dictionary<string, LlamaCppModelOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class LlamaCppModelOptions
{
    /// <summary>The GGUF file.</summary>
    public string Path { get; set; } = "";

    /// <summary>Tokens of prompt and answer together; larger costs memory (the KV cache) per call.</summary>
    public int ContextSize { get; set; } = 2048;

    /// <summary>CPU threads per call; empty: as many as the machine has cores.</summary>
    public int? Threads { get; set; }

    /// <summary>Unloads the weights after this long without a call; 0 keeps them loaded.</summary>
    public int IdleUnloadSeconds { get; set; } = 300;
}

public sealed class LlamaCppOptionsValidator : IValidateOptions<LlamaCppOptions>
{
    public ValidateOptionsResult Validate(string? name, LlamaCppOptions options)
    {
        var failures = new List<string>();
        foreach (var (model, settings) in options.Models)
        {
            var key = $"{LlamaCppOptions.Section}:Models:{model}";
            if (string.IsNullOrWhiteSpace(settings.Path))
            {
                failures.Add($"{key}:Path must name a GGUF file.");
            }

            if (settings.ContextSize is < 64 or > 1_048_576)
            {
                failures.Add($"{key}:ContextSize must be between 64 and 1048576 (got {settings.ContextSize}).");
            }

            if (settings.Threads is < 1 or > 1024)
            {
                failures.Add($"{key}:Threads must be between 1 and 1024 (got {settings.Threads}).");
            }

            if (settings.IdleUnloadSeconds < 0)
            {
                failures.Add($"{key}:IdleUnloadSeconds must be 0 (never) or more (got {settings.IdleUnloadSeconds}).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
