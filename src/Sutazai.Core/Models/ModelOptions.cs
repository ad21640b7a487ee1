using Microsoft.Extensions.Options;

namespace Sutazai.Core.Models;

/// <summary>Model defaults, bound from <c>Sutazai:Models</c>.</summary>
public sealed class ModelOptions
{
    public const string Section = "Sutazai:Models";

    /// <summary>The model used when a request names none.</summary>
    public string DefaultModel { get; set; } = "tinyllama";
}

public sealed class ModelOptionsValidator : IValidateOptions<ModelOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelOptions options) =>
        string.IsNullOrWhiteSpace(options.DefaultModel) || options.DefaultModel.Length > 200
            ? ValidateOptionsResult.Fail("Sutazai:Models:DefaultModel must name a model (1 to 200 characters), for example 'tinyllama'.")
            : ValidateOptionsResult.Success;
}
