using Sutazai.Core.Identity;
using Sutazai.Core.Models;

namespace Sutazai.Core.Tests;

public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData("./data", true)]
    [InlineData("/var/lib/sutazai", true)]
    [InlineData("", false)]
    [InlineData("   ", false)]
    [InlineData("bad\0path", false)]
    public void Data_dir_must_be_a_path(string dataDir, bool valid)
    {
        var result = new PlatformOptionsValidator().Validate(null, new PlatformOptions { DataDir = dataDir });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Sutazai:DataDir", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Default_model_is_tinyllama_and_must_not_be_empty()
    {
        var validator = new ModelOptionsValidator();

        Assert.Equal("tinyllama", new ModelOptions().DefaultModel);
        Assert.True(validator.Validate(null, new ModelOptions()).Succeeded);
        Assert.Contains("Sutazai:Models:DefaultModel", validator.Validate(null, new ModelOptions { DefaultModel = "" }).FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("admin", true)]
    [InlineData("Admin", true)]
    [InlineData("ops.team-1", true)]
    [InlineData("ab", false)]
    [InlineData("-leading", false)]
    [InlineData("has space", false)]
    [InlineData("admin'; DROP TABLE users;--", false)]
    [InlineData("ädmin", false)]
    public void Usernames_are_short_plain_names(string username, bool valid) =>
        Assert.Equal(valid, UserNames.IsValidUsername(username));
}
