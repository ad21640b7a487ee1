using Microsoft.Extensions.Options;

namespace Sutazai.Ollama;

/// <summary>An Ollama server, bound from <c>Sutazai:Models:Ollama</c>.</summary>
public sealed class OllamaOptions
{
    public const string Section = "Sutazai:Models:Ollama";

    /// <summary>
    /// Where Ollama answers: its own default is port 11434; the original SutazAI ran it on 10104. Empty turns the
    /// backend off.
    /// </summary>
    public string Endpoint { get; set; } = "http://127.0.0.1:11434";

    /// <summary>Sent as a bearer key, for an Ollama behind a proxy that wants one (or another SutazAI).</summary>
    public string? ApiKey { get; set; }

    /// <summary>Models to route to Ollama before it has been asked what it serves.</summary>
    public List<string> Models { get; set; } = [];
}

public sealed class OllamaOptionsValidator : IValidateOptions<OllamaOptions>
{
    public ValidateOptionsResult Validate(string? name, OllamaOptions options) =>
        options.Endpoint.Length == 0 || (Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{OllamaOptions.Section}:Endpoint must be an http(s) URL such as http://127.0.0.1:11434, or empty to turn Ollama off (got '{options.Endpoint}').");
}
