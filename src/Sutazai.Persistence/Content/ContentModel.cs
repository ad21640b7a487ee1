using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Chat;
using Sutazai.Core.Identity;
using Sutazai.Core.Knowledge;
using Sutazai.Core.Models;

namespace Sutazai.Persistence.Content;

/// <summary>Models, knowledge and chat history: what agents work with and produce.</summary>
internal static class ContentModel
{
    public static void Configure(ModelBuilder model, JsonColumns json)
    {
        model.Entity<ModelEntry>(entry =>
        {
            entry.ToTable("model_registry");
            entry.Property(m => m.Name).HasMaxLength(ModelLimits.Name);
            entry.HasIndex(m => m.Name).IsUnique();
            entry.Property(m => m.ModelType).HasMaxLength(32);
            entry.Property(m => m.Backend).HasMaxLength(32);
            entry.Property(m => m.FilePath).HasMaxLength(ModelLimits.Key * 2);
            json.Apply(entry.Property(m => m.ParametersJson).HasColumnName("parameters"));
        });

        model.Entity<VectorCollection>(collection =>
        {
            collection.ToTable("vector_collections");
            collection.Property(c => c.Name).HasMaxLength(ModelLimits.Name);
            collection.HasIndex(c => c.Name).IsUnique();
            collection.Property(c => c.Store).HasMaxLength(32);
            collection.Property(c => c.DistanceMetric).HasMaxLength(32);
            collection.Property(c => c.Status).HasMaxLength(32);
        });

        model.Entity<KnowledgeDocument>(document =>
        {
            document.ToTable("knowledge_documents");
            document.Property(d => d.Title).HasMaxLength(ModelLimits.Key);
            document.Property(d => d.ContentPreview).HasMaxLength(ModelLimits.Key);
            document.Property(d => d.DocumentType).HasMaxLength(64);
            document.Property(d => d.SourcePath).HasMaxLength(ModelLimits.Key * 2);
            document.Property(d => d.ContentHash).HasMaxLength(64);
            document.Property(d => d.EmbeddingStatus).HasMaxLength(32);
            json.Apply(document.Property(d => d.MetadataJson).HasColumnName("metadata"));
            document.HasIndex(d => new { d.CollectionId, d.ContentHash });
            document.HasIndex(d => d.EmbeddingStatus);
            document.HasOne<VectorCollection>().WithMany().HasForeignKey(d => d.CollectionId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<ChatHistoryEntry>(chat =>
        {
            chat.ToTable("chat_history");
            chat.Property(c => c.Model).HasMaxLength(ModelLimits.Name);
            chat.Property(c => c.AgentUsed).HasMaxLength(ModelLimits.Name);
            chat.Property(c => c.Backend).HasMaxLength(ModelLimits.Name);
            chat.Property(c => c.Operation).HasMaxLength(16).HasDefaultValue("chat");
            chat.HasIndex(c => new { c.UserId, c.CreatedAt });
            chat.HasIndex(c => new { c.Model, c.CreatedAt });
            chat.HasIndex(c => c.TaskId);
            chat.HasOne<User>().WithMany().HasForeignKey(c => c.UserId).OnDelete(DeleteBehavior.SetNull);
        });
    }
}
