using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Sutazai.Core.Definitions;
using Sutazai.Server.Errors;

namespace Sutazai.Server.Agents;

/// <summary>
/// An agent declaration as written, in JSON or YAML (the body of <c>POST /api/v1/agents</c>, or a file in the
/// definitions directory): read into a request, with each problem reported at its line and column.
/// </summary>
public sealed class AgentDocument
{
    public static readonly string[] ContentTypes = ["application/json", "application/yaml", "application/x-yaml", "text/yaml"];

    private AgentDocument(CreateAgentRequest request, DefinitionDocument document)
    {
        Request = request;
        Document = document;
    }

    public CreateAgentRequest Request { get; }

    public DefinitionDocument Document { get; }

    /// <exception cref="DefinitionException">Not one well-formed document, or a value of the wrong type.</exception>
    public static AgentDocument Parse(string text, JsonSerializerOptions json)
    {
        var document = DefinitionDocument.Parse(text);
        return new AgentDocument(document.Read<CreateAgentRequest>(json), document);
    }

    /// <summary>The request's field problems (its annotations and then <paramref name="more"/>), each with where it was written.</summary>
    public Dictionary<string, string[]> Problems(Dictionary<string, string[]> more)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(Request, new ValidationContext(Request), results, validateAllProperties: true);
        var errors = results
            .SelectMany(r => r.MemberNames.DefaultIfEmpty("").Select(m => (Field: JsonNamingPolicy.SnakeCaseLower.ConvertName(m), r.ErrorMessage ?? "is not valid")))
            .GroupBy(e => e.Field)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Item2).ToArray(), StringComparer.Ordinal);
        foreach (var (field, messages) in more)
        {
            errors.TryAdd(field, messages);
        }

        return errors.ToDictionary(e => e.Key, e =>
        {
            var (line, column) = Document.Where(e.Key);
            return e.Value.Select(m => $"{m} (line {line}, column {column})").ToArray();
        }, StringComparer.Ordinal);
    }

    /// <summary>Reads the request body (JSON or YAML); a malformed one is answered with a problem naming its place.</summary>
    public static async Task<(AgentDocument? Document, IResult? Problem)> ReadAsync(HttpRequest http, JsonSerializerOptions json, CancellationToken cancellationToken)
    {
        var mediaType = http.ContentType?.Split(';', 2)[0].Trim().ToLowerInvariant();
        if (mediaType is null || !ContentTypes.Contains(mediaType))
        {
            return (null, TypedResults.Problem(
                $"Send the agent as {string.Join(" or ", ContentTypes)}.", statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type", type: ProblemTypes.UnsupportedMediaType));
        }

        using var reader = new StreamReader(http.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(cancellationToken);
        try
        {
            return (Parse(text, json), null);
        }
        catch (DefinitionException e)
        {
            return (null, Malformed(e));
        }
    }

    public static ProblemHttpResult Malformed(DefinitionException e) => TypedResults.Problem(
        e.Reason,
        statusCode: StatusCodes.Status400BadRequest,
        title: "The agent is not valid YAML or JSON of the expected shape",
        type: ProblemTypes.MalformedJson,
        extensions: new Dictionary<string, object?> { ["line"] = e.Line, ["column"] = e.Column });
}
