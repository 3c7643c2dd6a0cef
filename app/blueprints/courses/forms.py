"""Forms for courses, activities, quiz questions, enrolment, submissions and grading.

Field names match the keys of the services' ValidationErrors, so a service message lands under its field.
Values are validated by the services (shared with the CLI); the forms only carry them and the CSRF token.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from app.models.courses import ROLE_LABELS, ROLE_STUDENT, ROLES
from app.services.courses.quiz import MAX_CHOICES

RICH_TEXT_HELP = ("HTML is allowed: headings, paragraphs, lists, links, images by URL, tables and emphasis. "
                  "Anything else is removed.")


class CourseForm(FlaskForm):
    full_name = StringField("Course full name")
    short_name = StringField("Course short name")
    summary_html = TextAreaField("Course summary")
    visible = SelectField("Course visibility", choices=[SelectChoice("1", "Show"), SelectChoice("0", "Hide")],
                          default="1")
    grade_max = StringField("Course total maximum grade", default="100")


class ActivityForm(FlaskForm):
    name = StringField("Name")
    description_html = TextAreaField("Description")
    visible = BooleanField("Visible", default=True)


class PageForm(ActivityForm):
    content_html = TextAreaField("Page content", render_kw={"rows": 14})


class QuizForm(ActivityForm):
    max_grade = StringField("Maximum grade", default="10")
    attempts_allowed = SelectField("Attempts allowed", coerce=int, default=0,
                                   choices=[SelectChoice(0, "Unlimited"),
                                            *(SelectChoice(n, str(n)) for n in range(1, 11))])


class AssignmentForm(ActivityForm):
    instructions_html = TextAreaField("Instructions", render_kw={"rows": 10})
    max_grade = StringField("Maximum grade", default="100")


ACTIVITY_FORMS = {"page": PageForm, "quiz": QuizForm, "assignment": AssignmentForm}


class ChoiceForm(Form):
    text = StringField("Choice")
    correct = BooleanField("Correct")


class QuestionForm(FlaskForm):
    text = TextAreaField("Question text", render_kw={"rows": 3})
    choices = FieldList(FormField(ChoiceForm), min_entries=MAX_CHOICES, max_entries=MAX_CHOICES)


class EnrolForm(FlaskForm):
    user = SelectField("User", coerce=int, validate_choice=False)
    role = SelectField("Role", choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES], default=ROLE_STUDENT)


class SubmissionForm(FlaskForm):
    text = TextAreaField("Online text", render_kw={"rows": 12})


class GradeForm(FlaskForm):
    grade = StringField("Grade", render_kw={"inputmode": "decimal"})
    feedback = TextAreaField("Feedback comments", render_kw={"rows": 6})
