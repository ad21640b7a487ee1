using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sutazai.Core.Definitions;

/// <summary>A definition that cannot be read: what is wrong, and where (1-based line and column).</summary>
public sealed class DefinitionException(string message, long line, long column)
    : Exception($"{message} (line {line}, column {column})")
{
    public long Line { get; } = line;

    public long Column { get; } = column;

    public string Reason { get; } = message;
}

/// <summary>
/// A definition written in YAML or JSON (JSON is read as the YAML it also is), as JSON, with where each value
/// was written, so a problem found later (a wrong type, a bad value) can name its line and column too.
/// Plain scalars get YAML 1.2 core types (null, booleans, integers, floats); quoted ones stay strings. Only one
/// document, no duplicate keys, and at most <see cref="MaxNodes"/> values (aliases count each time they are used).
/// </summary>
public sealed partial class DefinitionDocument
{
    public const int MaxNodes = 100_000;
    public const int MaxLength = 1_000_000;

    private readonly Dictionary<string, Mark> _marks = new(StringComparer.Ordinal);
    private int _nodes;

    private DefinitionDocument()
    {
    }

    public JsonNode? Root { get; private set; }

    /// <exception cref="DefinitionException">The text is not one well-formed YAML or JSON document, or is too big.</exception>
    public static DefinitionDocument Parse(string text)
    {
        if (text.Length > MaxLength)
        {
            throw new DefinitionException($"The definition is {text.Length} characters; at most {MaxLength} are read.", 1, 1);
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new DefinitionException(Plain(e), e.Start.Line, e.Start.Column);
        }

        if (stream.Documents.Count != 1)
        {
            var at = stream.Documents.Count > 1 ? stream.Documents[1].RootNode.Start : Mark.Empty;
            throw new DefinitionException(stream.Documents.Count == 0 ? "The definition is empty." : "Give one definition per document; this one has more.", Math.Max(1, at.Line), Math.Max(1, at.Column));
        }

        var document = new DefinitionDocument();
        document.Root = document.Convert(stream.Documents[0].RootNode, "");
        return document;
    }

    /// <summary>Where the value at <paramref name="path"/> (as in <c>definition.tools[1]</c>) was written; the nearest enclosing value's place when it was not.</summary>
    public (long Line, long Column) Where(string path)
    {
        while (true)
        {
            if (_marks.TryGetValue(path, out var mark))
            {
                return (mark.Line, mark.Column);
            }

            if (path.Length == 0)
            {
                return (1, 1);
            }

            var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
            path = cut < 0 ? "" : path[..cut];
        }
    }

    /// <summary>Reads the document as <typeparamref name="T"/>; a value of the wrong type is reported with its place.</summary>
    public T Read<T>(JsonSerializerOptions options)
    {
        try
        {
            return Root.Deserialize<T>(options) ?? throw new DefinitionException("The definition is empty.", 1, 1);
        }
        catch (JsonException e)
        {
            var path = Path(e.Path);
            var (line, column) = Where(path);
            var what = JsonReason.Of(e).TrimEnd('.');
            throw new DefinitionException(path.Length == 0 ? what : $"{path}: {what}", line, column);
        }
    }

    /// <summary>A System.Text.Json path (<c>$.definition.tools[1]</c>) as this document's (<c>definition.tools[1]</c>).</summary>
    public static string Path(string? jsonPath) => jsonPath is null or "$" ? "" : jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');

    private JsonNode? Convert(YamlNode node, string path)
    {
        if (++_nodes > MaxNodes)
        {
            throw new DefinitionException($"The definition has more than {MaxNodes} values (aliases count each time they are used).", node.Start.Line, node.Start.Column);
        }

        _marks[path] = node.Start;
        switch (node)
        {
            case YamlMappingNode mapping:
                var json = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                    {
                        throw new DefinitionException("Keys must be plain names.", key.Start.Line, key.Start.Column);
                    }

                    if (json.ContainsKey(name))
                    {
                        throw new DefinitionException($"'{name}' is given twice.", key.Start.Line, key.Start.Column);
                    }

                    json[name] = Convert(value, path.Length == 0 ? name : $"{path}.{name}");
                }

                return json;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var item in sequence.Children)
                {
                    array.Add(Convert(item, $"{path}[{array.Count}]"));
                }

                return array;
            case YamlScalarNode scalar when scalar.Value?.Contains('\0', StringComparison.Ordinal) == true:
                throw new DefinitionException("Text may not contain the NUL character.", node.Start.Line, node.Start.Column);
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new DefinitionException("This kind of YAML value is not read here.", node.Start.Line, node.Start.Column);
        }
    }

    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
        {
            return JsonValue.Create(text);
        }

        return text switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            _ when Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole) => JsonValue.Create(whole),
            _ when Float().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) => JsonValue.Create(number),
            _ => JsonValue.Create(text),
        };
    }

    /// <summary>YamlDotNet's message without its own place, which the exception gives as numbers.</summary>
    private static string Plain(YamlException e) => PlaceSuffix().Replace(e.Message, "").Trim();

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):")]
    private static partial Regex PlaceSuffix();
}
