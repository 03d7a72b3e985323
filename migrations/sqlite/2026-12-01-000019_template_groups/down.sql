DROP TABLE template_group_daily;
DROP TABLE template_group_members;
DROP TABLE template_groups;
