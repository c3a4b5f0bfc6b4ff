from django.urls import path

from . import views

app_name = "workdays"

urlpatterns = [
    path("", views.CalendarIndexView.as_view(), name="index"),
    path("<int:year>/", views.CalendarYearView.as_view(), name="year"),
    path("days/add/", views.DayOverrideAddView.as_view(), name="day_add"),
    path("days/<int:pk>/delete/", views.DayOverrideDeleteView.as_view(), name="day_delete"),
]
