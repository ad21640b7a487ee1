using Microsoft.Extensions.Options;

namespace Sutazai.OpenAi;

/// <summary>OpenAI-compatible servers (OpenAI, vLLM, LM Studio, llama.cpp's server, another SutazAI), bound from <c>Sutazai:Models:OpenAi</c>.</summary>
public sealed class OpenAiOptions
{
    public const string Section = "Sutazai:Models:OpenAi";

    /// <summary>By backend name, for example <c>Sutazai:Models:OpenAi:Servers:vllm:Endpoint</c>.</summary>
    public Dictionary<string, OpenAiServerOptions> Servers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class OpenAiServerOptions
{
    /// <summary>The API's base, with its version: <c>https://api.openai.com/v1</c>, <c>http://127.0.0.1:8000/v1</c>.</summary>
    public string Endpoint { get; set; } = "";

    /// <summary>The bearer key; keep it out of files (environment variable or user secrets).</summary>
    public string? ApiKey { get; set; }

    /// <summary>Models to route here before the server has been asked what it serves.</summary>
    public List<string> Models { get; set; } = [];
}

public sealed class OpenAiOptionsValidator : IValidateOptions<OpenAiOptions>
{
    public ValidateOptionsResult Validate(string? name, OpenAiOptions options)
    {
        var failures = new List<string>();
        foreach (var (server, settings) in options.Servers)
        {
            if (!Uri.TryCreate(settings.Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                failures.Add($"{OpenAiOptions.Section}:Servers:{server}:Endpoint must be an http(s) URL such as http://127.0.0.1:8000/v1 (got '{settings.Endpoint}').");
            }

            if (server is "llamacpp" or "ollama" || server.Length is 0 or > 32 || !server.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                failures.Add($"{OpenAiOptions.Section}:Servers:{server}: the name must be 1 to 32 letters, digits, '-' or '_', and not 'llamacpp' or 'ollama'.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
