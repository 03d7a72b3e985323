DROP TABLE template_versions;
